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
 * Keeps the changelog no longer than its slowest feed slot needs (DESIGN.md invariant 4), and a
 * slot at most {@code feed.max-retained-bytes} behind: one further behind is marked lost, like
 * PostgreSQL's {@code wal_status = lost}. Release is by whole segments, so the changelog may hold
 * up to one segment more than the bound (segments are sized from it, see {@link Feed}). With no
 * feed slots the changelog is kept only down to the apply checkpoint.
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

    /**
     * PostgreSQL's rule (max_slot_wal_keep_size): a slot more than the bound behind the changelog's
     * end is lost; then whole segments nobody needs are released.
     */
    public void run() throws IOException {
        long end = changelog.endLsn();
        List<String> lost = new ArrayList<>();
        for (FeedSlot slot : slots.all()) {
            if (!slot.lost() && Long.compareUnsigned(end, slot.confirmedLsn()) > 0
                    && Long.compareUnsigned(end - slot.confirmedLsn(), maxRetainedBytes) > 0) {
                lost.add(slot.name());
                log.warn("feed slot {} lost: it is at {}, {} bytes behind the changelog end {}, more than "
                                + "feed.max-retained-bytes ({}); its client must drop and re-create it",
                        slot.name(), LogSequenceNumber.valueOf(slot.confirmedLsn()).asString(), end - slot.confirmedLsn(),
                        LogSequenceNumber.valueOf(end).asString(), maxRetainedBytes);
            }
        }
        if (!lost.isEmpty()) {
            slots.markLost(lost);
        }
        changelog.releaseUpTo(keepFrom());
    }

    /** The lowest position anyone still needs: the slowest live slot, else the checkpoint. */
    private long keepFrom() {
        return slots.lowestConfirmed().orElse(checkpoint.getAsLong());
    }
}
