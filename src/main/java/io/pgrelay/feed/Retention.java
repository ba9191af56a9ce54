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
 * Keeps the changelog no longer than its slowest feed slot needs (DESIGN.md invariant 4), and no
 * larger than {@code feed.max-retained-bytes}: a slot that alone holds it above the bound is
 * marked lost, like PostgreSQL's {@code wal_status = lost}. Release is by whole segments, so the
 * changelog may hold up to one segment more than the bound (segments are sized from it, see
 * {@link Feed}). With no feed slots the changelog is kept only down to the apply checkpoint.
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
     * Releases what no live slot needs; then, while the changelog still holds more than the bound,
     * marks the slowest slot lost, but only if that lets a segment go. The bound is measured in
     * changelog bytes, not in LSN distance: a caught-up slot over a stretch of root WAL that holds
     * nothing for this relay (other databases, unpublished tables) needs no bytes at all.
     */
    public void run() throws IOException {
        changelog.releaseUpTo(keepFrom());
        while (changelog.retainedBytes() > maxRetainedBytes && losingSlowestHelps()) {
            markSlowestLost();
            changelog.releaseUpTo(keepFrom());
        }
    }

    /** True when, without the slowest slot(s), more of the changelog could be released. */
    private boolean losingSlowestHelps() {
        var lowest = slots.lowestConfirmed();
        if (lowest.isEmpty()) {
            return false;
        }
        long next = checkpoint.getAsLong();
        for (FeedSlot slot : slots.all()) {
            if (!slot.lost() && Long.compareUnsigned(slot.confirmedLsn(), lowest.get()) > 0
                    && Long.compareUnsigned(slot.confirmedLsn(), next) < 0) {
                next = slot.confirmedLsn();
            }
        }
        return changelog.releasableBytes(next) > changelog.releasableBytes(lowest.get());
    }

    private void markSlowestLost() throws IOException {
        long lowest = slots.lowestConfirmed().orElseThrow();
        List<String> lost = new ArrayList<>();
        for (FeedSlot slot : slots.all()) {
            if (!slot.lost() && slot.confirmedLsn() == lowest) {
                lost.add(slot.name());
            }
        }
        log.warn("feed slot {} lost: it is at {} and keeping it would hold the changelog above feed.max-retained-bytes "
                        + "({} bytes retained, bound {}); its client must drop and re-create it", String.join(", ", lost),
                LogSequenceNumber.valueOf(lowest).asString(), changelog.retainedBytes(), maxRetainedBytes);
        slots.markLost(lost);
    }

    /** The lowest position anyone still needs: the slowest live slot, else the checkpoint. */
    private long keepFrom() {
        return slots.lowestConfirmed().orElse(checkpoint.getAsLong());
    }
}
