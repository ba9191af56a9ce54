package io.pgrelay.feed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.changelog.Changelog;
import io.pgrelay.changelog.ChangelogOptions;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.replication.LogSequenceNumber;

/**
 * What the stream thread may acknowledge and what retention may take, on a real changelog.
 * Regression tests for defects a review demonstrated.
 */
@Timeout(30)
class ChangelogTapTest {

    static ByteBuffer begin(long finalLsn) {
        return ByteBuffer.wrap(ByteBuffer.allocate(21).put((byte) 'B').putLong(finalLsn).putLong(700_000_000_000_000L)
                .putInt(42).array());
    }

    static ByteBuffer commit(long commitLsn, long endLsn) {
        return ByteBuffer.wrap(ByteBuffer.allocate(26).put((byte) 'C').put((byte) 0).putLong(commitLsn).putLong(endLsn)
                .putLong(700_000_000_000_000L).array());
    }

    static ByteBuffer relation(int id) {
        byte[] ns = "public\0".getBytes(StandardCharsets.UTF_8);
        byte[] rel = "t\0".getBytes(StandardCharsets.UTF_8);
        byte[] col = "c\0".getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.wrap(ByteBuffer.allocate(1 + 4 + ns.length + rel.length + 1 + 2 + 1 + col.length + 8)
                .put((byte) 'R').putInt(id).put(ns).put(rel).put((byte) 'd').putShort((short) 1)
                .put((byte) 1).put(col).putInt(23).putInt(-1).array());
    }

    static ByteBuffer insert(int id) {
        byte[] v = "1".getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.wrap(ByteBuffer.allocate(1 + 4 + 1 + 2 + 1 + 4 + v.length).put((byte) 'I').putInt(id)
                .put((byte) 'N').putShort((short) 1).put((byte) 't').putInt(v.length).put(v).array());
    }

    static LogSequenceNumber lsn(long v) {
        return LogSequenceNumber.valueOf(v);
    }

    /** Appends one small transaction (commit record at commitLsn, ending 0x30 later). */
    static void txn(ChangelogTap tap, long commitLsn) throws Exception {
        tap.append(lsn(commitLsn - 0x100), begin(commitLsn));
        tap.append(lsn(commitLsn - 0x80), relation(1));
        tap.append(lsn(commitLsn - 0x40), insert(1));
        tap.append(lsn(commitLsn + 0x30), commit(commitLsn, commitLsn + 0x30));
    }

    private static ChangelogTap tap(Changelog changelog, FeedSlots slots, long max) {
        return new ChangelogTap(changelog, new Retention(changelog, slots, () -> 0, max));
    }

    /** A new session's first idle moment must not vouch for a tail the last session never fsynced. */
    @Test
    void idlePositionNeverPassesAnUnsyncedTail(@TempDir Path dir) throws Exception {
        try (Changelog changelog = Changelog.open(dir.resolve("changelog"), ChangelogOptions.defaults())) {
            FeedSlots slots = FeedSlots.open(dir);
            ChangelogTap first = tap(changelog, slots, 1L << 30);
            txn(first, 0x1000_0000L);
            first.caughtUp(lsn(0x1000_0030L));
            txn(first, 0x1000_1000L); // appended, not yet synced: the session ends here
            assertEquals(0x1000_0030L, changelog.durableEndLsn());

            ChangelogTap second = tap(changelog, slots, 1L << 30);
            second.caughtUp(lsn(0x1000_1030L));
            assertTrue(Long.compareUnsigned(second.durableLimit().asLong(), changelog.durableEndLsn()) <= 0,
                    "ack cap " + second.durableLimit() + " passed the fsynced end " + lsn(changelog.durableEndLsn()));

            txn(second, 0x1000_1000L); // the same transaction re-sent and skipped as present
            second.caughtUp(lsn(0x1000_1030L));
            assertTrue(Long.compareUnsigned(second.durableLimit().asLong(), changelog.durableEndLsn()) <= 0,
                    "ack cap " + second.durableLimit() + " passed the fsynced end " + lsn(changelog.durableEndLsn()));
            changelog.sync();
            second.caughtUp(lsn(0x1000_1030L));
            assertEquals(0x1000_1030L, second.durableLimit().asLong(), "once durable, the idle position counts");
        }
    }

    /** Root WAL that holds nothing for this relay costs a caught-up slot nothing. */
    @Test
    void aCaughtUpSlotIsNotLostOverAnLsnGap(@TempDir Path dir) throws Exception {
        long max = 1L << 20;
        try (Changelog changelog = Changelog.open(dir.resolve("changelog"), ChangelogOptions.defaults())) {
            FeedSlots slots = FeedSlots.open(dir);
            ChangelogTap tap = tap(changelog, slots, max);
            txn(tap, 0x1000_0000L);
            tap.caughtUp(lsn(0x1000_0030L));
            slots.create("child", 0x1000_0030L, false);
            txn(tap, 0x1000_0000L + 2 * max); // 2 MB of other root WAL, then one small commit for us
            changelog.sync();
            new Retention(changelog, slots, () -> 0, max).run();
            assertFalse(slots.get("child").orElseThrow().lost(), "caught-up slot marked lost; changelog holds "
                    + changelog.retainedBytes() + " bytes");
        }
    }
}
