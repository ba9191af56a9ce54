package io.pgrelay.source;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.postgresql.replication.LogSequenceNumber;

/**
 * Where the stream thread records every message it receives before apply sees it: the feed's
 * changelog, or nothing. Called only on the stream thread.
 */
public interface ReceivedLog {

    /** No log: nothing is recorded and nothing limits the acknowledged position. */
    ReceivedLog NONE = new ReceivedLog() {
        @Override
        public void append(LogSequenceNumber lsn, ByteBuffer message) {}

        @Override
        public void caughtUp(LogSequenceNumber upstreamEnd) {}

        @Override
        public LogSequenceNumber durableLimit() {
            return LogSequenceNumber.valueOf(-1L);
        }
    };

    /** Records one message received at upstream position {@code lsn}. */
    void append(LogSequenceNumber lsn, ByteBuffer message) throws IOException;

    /** The stream has nothing buffered: make what was recorded durable; the upstream is at {@code upstreamEnd}. */
    void caughtUp(LogSequenceNumber upstreamEnd) throws IOException;

    /** The highest position the log holds durably: flush feedback never passes it (DESIGN.md invariant 3). */
    LogSequenceNumber durableLimit();
}
