package io.pgrelay.feed.wire;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads the frontend side of the PostgreSQL protocol 3.0 from a socket stream.
 *
 * <p>Hostile input is expected: every length is checked against a limit before anything is
 * allocated, so a client cannot make the server allocate more than {@code maxMessageBytes} for
 * one message.
 */
public final class WireReader {

    private static final int PROTOCOL_3_0 = 3 << 16;
    private static final int SSL_REQUEST = 80877103;
    private static final int GSSENC_REQUEST = 80877104;
    private static final int CANCEL_REQUEST = 80877102;
    /** PostgreSQL's own limit for a startup packet. */
    private static final int MAX_STARTUP_BYTES = 10_000;

    private final DataInputStream in;
    private final int maxMessageBytes;

    public WireReader(InputStream in, int maxMessageBytes) {
        this.in = new DataInputStream(in);
        this.maxMessageBytes = maxMessageBytes;
    }

    public StartupPacket readStartup() throws IOException, ProtocolException {
        int length = in.readInt();
        if (length < 8 || length > MAX_STARTUP_BYTES) {
            throw new ProtocolException("08P01", "invalid length of startup packet");
        }
        int code = in.readInt();
        byte[] body = new byte[length - 8];
        in.readFully(body);
        return switch (code) {
            case SSL_REQUEST -> new StartupPacket.SslRequest();
            case GSSENC_REQUEST -> new StartupPacket.GssEncRequest();
            case CANCEL_REQUEST -> cancel(body);
            default -> startup(code, body);
        };
    }

    private static StartupPacket cancel(byte[] body) throws ProtocolException {
        if (body.length != 8) {
            throw new ProtocolException("08P01", "invalid length of cancel request");
        }
        ByteBuffer buffer = ByteBuffer.wrap(body);
        return new StartupPacket.CancelRequest(buffer.getInt(), buffer.getInt());
    }

    private static StartupPacket startup(int protocol, byte[] body) throws ProtocolException {
        if (protocol >>> 16 != 3) {
            throw new ProtocolException("0A000", "unsupported frontend protocol " + (protocol >>> 16) + "."
                    + (protocol & 0xffff) + ": server supports 3.0");
        }
        if (body.length == 0 || body[body.length - 1] != 0) {
            // PostgreSQL's own check; it also means every string below finds its terminator.
            throw new ProtocolException("08P01", "invalid startup packet layout: expected terminator as last byte");
        }
        Map<String, String> parameters = new LinkedHashMap<>();
        ByteBuffer buffer = ByteBuffer.wrap(body);
        while (buffer.hasRemaining()) {
            String name = cString(buffer);
            if (name.isEmpty()) {
                break;
            }
            if (!buffer.hasRemaining()) {
                throw new ProtocolException("08P01", "startup packet has no value for parameter " + name);
            }
            parameters.put(name, cString(buffer));
        }
        return new StartupPacket.Startup(protocol == PROTOCOL_3_0 ? protocol : PROTOCOL_3_0, parameters);
    }

    /** The next typed message; EOFException when the client closed the connection. */
    public FrontendMessage read() throws IOException, ProtocolException {
        int type = in.read();
        if (type < 0) {
            throw new EOFException("client closed the connection");
        }
        int length = in.readInt();
        if (length < 4) {
            throw new ProtocolException("08P01", "invalid message length " + length);
        }
        if (length - 4 > maxMessageBytes) {
            throw new ProtocolException("54000", "message of " + (length - 4) + " bytes exceeds the limit of "
                    + maxMessageBytes + " bytes");
        }
        byte[] body = new byte[length - 4];
        in.readFully(body);
        return new FrontendMessage((byte) type, ByteBuffer.wrap(body).asReadOnlyBuffer());
    }

    /** Reads a NUL-terminated UTF-8 string from the buffer; fails on a missing terminator. */
    public static String cString(ByteBuffer buffer) {
        int start = buffer.position();
        int end = start;
        while (end < buffer.limit() && buffer.get(end) != 0) {
            end++;
        }
        if (end == buffer.limit()) {
            throw new IllegalArgumentException("string is not NUL-terminated");
        }
        byte[] bytes = new byte[end - start];
        buffer.get(bytes);
        buffer.get();
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
