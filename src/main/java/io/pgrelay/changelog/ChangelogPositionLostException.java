package io.pgrelay.changelog;

import java.io.IOException;

/**
 * A reader asked for a position whose transactions are no longer retained: retention released
 * them. Like PostgreSQL's {@code wal_status = lost}, the only way on is a new start position
 * (for a feed slot: the slot is lost).
 */
public final class ChangelogPositionLostException extends IOException {

    private static final long serialVersionUID = 1L;

    private final long requestedLsn;
    private final long oldestRetainedLsn;

    ChangelogPositionLostException(long requestedLsn, long releasedUpTo, long oldestRetainedLsn) {
        super("changelog position " + Lsn.format(requestedLsn) + " is no longer available: transactions up to commit LSN "
                + Lsn.format(releasedUpTo) + " were released; the oldest retained transaction commits at "
                + (oldestRetainedLsn == 0 ? "(none yet)" : Lsn.format(oldestRetainedLsn)));
        this.requestedLsn = requestedLsn;
        this.oldestRetainedLsn = oldestRetainedLsn;
    }

    public long requestedLsn() {
        return requestedLsn;
    }

    /** Commit LSN of the oldest transaction still retained, 0 when none is complete yet. */
    public long oldestRetainedLsn() {
        return oldestRetainedLsn;
    }
}
