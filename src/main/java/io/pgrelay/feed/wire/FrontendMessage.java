package io.pgrelay.feed.wire;

import java.nio.ByteBuffer;

/** One message from the client after startup: its type byte and its body (read-only). */
public record FrontendMessage(byte type, ByteBuffer body) {
    public static final byte QUERY = 'Q';
    public static final byte TERMINATE = 'X';
    public static final byte PASSWORD = 'p';
    public static final byte COPY_DATA = 'd';
    public static final byte COPY_DONE = 'c';
    public static final byte COPY_FAIL = 'f';

    /** The body of a Query message: the SQL text without its terminating NUL. */
    public String queryText() {
        return WireReader.cString(body.duplicate());
    }
}
