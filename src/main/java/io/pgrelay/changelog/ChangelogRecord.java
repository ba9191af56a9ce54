package io.pgrelay.changelog;

import java.nio.ByteBuffer;

/**
 * One pgoutput message read back from the changelog.
 *
 * @param lsn     the upstream position it was received at (XLogData dataStart), unchanged
 * @param message the raw pgoutput message, read-only, positioned at its first byte (the type)
 */
public record ChangelogRecord(long lsn, ByteBuffer message) {

    /** The pgoutput message type, e.g. {@code 'B'}, {@code 'I'}, {@code 'C'}. */
    public byte type() {
        return message.get(message.position());
    }
}
