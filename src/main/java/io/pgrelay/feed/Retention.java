package io.pgrelay.feed;

import io.pgrelay.changelog.Changelog;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;
import org.postgresql.replication.LogSequenceNumber;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the changelog no longer than its slowest feed slot needs (DESIGN.md invariant 4), and
 * no larger than {@code feed.max-retained-bytes}: a slot that would need more is marked lost,
 * like PostgreSQL's {@code wal_status = lost}. With no feed slots the changelog is kept only down
 * to the apply checkpoint.
 */
public final class Retention {

    private static final Logger log = LoggerFactory.getLogger(Retention.class);

    private final Changelog changelog;
    private final FeedSlots slots;
    private final LongSupplier checkpoint;
    private final long maxRetainedBytes;

    public Retention(Changelog changelog, FeedSlots slots, LongSupplier checkpoint, long maxRetainedBytes) {
        this.changelog = changelog;
        this.slots = slots;
        this.checkpoint = checkpoint;
        this.maxRetainedBytes = maxRetainedBytes;
    }

    public void run() throws IOException {
        changelog.releaseUpTo(keepFrom());
        while (changelog.retainedBytes() > maxRetainedBytes && markSlowestLost()) {
            changelog.releaseUpTo(keepFrom());
        }
    }

    /** The lowest position anyone still needs: the slowest live slot, else the checkpoint. */
    private long keepFrom() {
        return slots.lowestConfirmed().orElse(checkpoint.getAsLong());
    }

    private boolean markSlowestLost() throws IOException {
        var lowest = slots.lowestConfirmed();
        if (lowest.isEmpty()) {
            return false;
        }
        List<String> lost = new ArrayList<>();
        for (FeedSlot slot : slots.all()) {
            if (!slot.lost() && slot.confirmedLsn() == lowest.get()) {
                lost.add(slot.name());
            }
        }
        slots.markLost(lost);
        log.warn("feed slot {} lost: it is at {} and the changelog would exceed feed.max-retained-bytes ({} bytes retained); "
                        + "its client must drop and re-create it", String.join(", ", lost),
                LogSequenceNumber.valueOf(lowest.get()).asString(), changelog.retainedBytes());
        return true;
    }
}
