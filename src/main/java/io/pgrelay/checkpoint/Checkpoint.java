package io.pgrelay.checkpoint;

import java.time.Instant;
import org.postgresql.replication.LogSequenceNumber;

/**
 * How far the downstream is applied: every upstream transaction whose commit ends at or
 * before {@code endLsn} is in the downstream, none after it. {@code commitTime} is the root's
 * commit time of the last applied transaction (null before the first).
 */
public record Checkpoint(LogSequenceNumber endLsn, Instant commitTime) {

    public static final Checkpoint NONE = new Checkpoint(LogSequenceNumber.INVALID_LSN, null);

    public boolean isNone() {
        return endLsn.asLong() == 0;
    }

    /** True when a transaction whose commit record starts at {@code commitLsn} is already applied. */
    public boolean covers(LogSequenceNumber commitLsn) {
        return Long.compareUnsigned(commitLsn.asLong(), endLsn.asLong()) < 0;
    }
}
