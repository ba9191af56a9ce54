package io.pgrelay.feed;

/**
 * A durable cursor on the feed, like a PostgreSQL logical slot: the position its client has
 * confirmed, and whether retention has already released what it still needed.
 */
public record FeedSlot(String name, long confirmedLsn, boolean temporary, boolean lost) {

    public FeedSlot withConfirmed(long lsn) {
        return new FeedSlot(name, Long.compareUnsigned(lsn, confirmedLsn) > 0 ? lsn : confirmedLsn, temporary, lost);
    }

    public FeedSlot markLost() {
        return new FeedSlot(name, confirmedLsn, temporary, true);
    }
}
