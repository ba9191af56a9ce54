package io.pgrelay.changelog;

import static io.pgrelay.changelog.Pg.appendAll;
import static io.pgrelay.changelog.Pg.assertSameRecords;
import static io.pgrelay.changelog.Pg.read;
import static io.pgrelay.changelog.Pg.records;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.changelog.Pg.Gen;
import io.pgrelay.changelog.Pg.Txn;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class ChangelogRetentionTest {

    static final ChangelogOptions SMALL = Pg.SMALL_SEGMENTS;
    static final Duration SHORT = Duration.ofMillis(50);

    @TempDir
    Path dir;

    static List<Txn> txns(Gen gen, int n) {
        return Pg.txns(gen, n, 4, 80, 70);
    }

    long filesSize() throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.mapToLong(p -> p.toFile().length()).sum();
        }
    }

    long fileCount() throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    static int indexOfCommit(List<Txn> txns, long commitLsn) {
        for (int i = 0; i < txns.size(); i++) {
            if (txns.get(i).commitLsn() == commitLsn) {
                return i;
            }
        }
        throw new AssertionError("no transaction commits at " + Lsn.format(commitLsn));
    }

    /** What must hold after any release: everything from startLsn() on is there, nothing before. */
    void assertRetained(Changelog log, List<Txn> txns) throws Exception {
        long start = log.startLsn();
        int first = indexOfCommit(txns, start);
        List<Txn> rest = txns.subList(first, txns.size());
        try (ChangelogReader reader = log.openReader(start)) {
            assertSameRecords(records(rest), read(reader, records(rest).size()));
            assertNull(reader.next(SHORT));
        }
        if (first > 0) {
            assertThrows(ChangelogPositionLostException.class, () -> log.openReader(txns.get(first - 1).commitLsn()));
        }
        assertEquals(fileCount(), log.segmentCount());
        assertEquals(filesSize(), log.retainedBytes());
    }

    @Test
    void releaseDeletesWholeSegmentsBelowThePositionAndKeepsTheRest() throws Exception {
        Gen gen = new Gen();
        List<Txn> txns = txns(gen, 300);
        try (Changelog log = Changelog.open(dir, SMALL)) {
            appendAll(log, txns);
            log.sync();
            int segments = log.segmentCount();
            long bytes = log.retainedBytes();
            assertEquals(txns.get(0).commitLsn(), log.startLsn());

            Txn confirmed = txns.get(150);
            log.releaseUpTo(confirmed.commitLsn());
            assertTrue(log.segmentCount() < segments);
            assertTrue(log.retainedBytes() < bytes);
            assertTrue(log.startLsn() <= confirmed.commitLsn(), "everything from the position on stays");
            assertTrue(log.startLsn() > txns.get(100).commitLsn(), "most before it is gone");
            try (ChangelogReader reader = log.openReader(confirmed.commitLsn())) {
                List<Txn> rest = txns.subList(150, 300);
                assertSameRecords(records(rest), read(reader, records(rest).size()));
            }
            assertRetained(log, txns);
            ChangelogPositionLostException lost = assertThrows(ChangelogPositionLostException.class,
                    () -> log.openReader(txns.get(10).commitLsn()));
            assertEquals(log.startLsn(), lost.oldestRetainedLsn());
            assertTrue(lost.getMessage().contains("no longer available"), lost.getMessage());
            assertThrows(ChangelogPositionLostException.class, () -> log.openReader(0));

            int after = log.segmentCount();
            log.releaseUpTo(confirmed.commitLsn());
            assertEquals(after, log.segmentCount(), "same position again: nothing more to release");

            // Releasing past the end keeps the segment being written.
            log.releaseUpTo(-1L);  // the largest unsigned LSN
            assertEquals(1, log.segmentCount());
            assertRetained(log, txns);
            List<Txn> more = txns(gen, 20);
            appendAll(log, more);
            log.sync();
            List<Txn> all = new ArrayList<>(txns);
            all.addAll(more);
            assertRetained(log, all);
        }
    }

    @Test
    void releaseKeepsWhatOpenReadersStillRead() throws Exception {
        Gen gen = new Gen();
        List<Txn> txns = txns(gen, 300);
        try (Changelog log = Changelog.open(dir, SMALL)) {
            appendAll(log, txns);
            log.sync();
            int segments = log.segmentCount();
            ChangelogReader slow = log.openReader(0);
            assertSameRecords(records(txns.subList(0, 3)), read(slow, records(txns.subList(0, 3)).size()));
            log.releaseUpTo(txns.get(290).commitLsn());
            assertEquals(segments, log.segmentCount(), "the slow reader's first segment and all after it stay");

            List<Txn> rest = txns.subList(3, 300);
            List<Pg.Rec> expected = records(rest);
            int half = expected.size() / 2;
            assertSameRecords(expected.subList(0, half), read(slow, half));
            log.releaseUpTo(txns.get(290).commitLsn());
            int whileReading = log.segmentCount();
            assertTrue(whileReading < segments && whileReading > 2, "released what the reader passed: " + whileReading);
            assertSameRecords(expected.subList(half, expected.size()), read(slow, expected.size() - half));
            slow.close();
            assertEquals(0, log.pinCount());

            log.releaseUpTo(txns.get(290).commitLsn());
            assertTrue(log.segmentCount() < whileReading);
            assertTrue(log.startLsn() <= txns.get(290).commitLsn());
            assertRetained(log, txns);
        }
    }

    @Test
    void releaseNeverTouchesDataThatIsNotDurable() throws Exception {
        Gen gen = new Gen();
        List<Txn> txns = txns(gen, 100);
        try (Changelog log = Changelog.open(dir, SMALL)) {
            appendAll(log, txns.subList(0, 10));
            log.sync();
            int durableSegments = log.segmentCount();
            appendAll(log, txns.subList(10, 100));
            log.releaseUpTo(-1L);
            assertEquals(log.segmentCount(), fileCount());
            assertTrue(log.segmentCount() >= 2, "segments past the durable end stay: " + log.segmentCount());
            assertTrue(fileCount() > durableSegments - 1);
            log.sync();
            assertRetained(log, txns);
        }
    }

    @Test
    void lostPositionsStayLostAcrossRestarts() throws Exception {
        Gen gen = new Gen();
        List<Txn> txns = txns(gen, 200);
        long start;
        try (Changelog log = Changelog.open(dir, SMALL)) {
            appendAll(log, txns);
            log.sync();
            log.releaseUpTo(txns.get(120).commitLsn());
            start = log.startLsn();
        }
        try (Changelog log = Changelog.open(dir, SMALL)) {
            assertEquals(start, log.startLsn());
            assertThrows(ChangelogPositionLostException.class, () -> log.openReader(txns.get(5).commitLsn()));
            assertRetained(log, txns);
        }
    }

    @Test
    void startLsnSkipsATransactionWhoseBeginningWasReleased() throws Exception {
        Gen gen = new Gen();
        List<Txn> txns = new ArrayList<>(txns(gen, 5));
        txns.add(gen.inserts(100, 150));  // spans segments
        txns.addAll(txns(gen, 5));
        try (Changelog log = Changelog.open(dir, SMALL)) {
            appendAll(log, txns);
            log.sync();
            log.releaseUpTo(txns.get(5).endLsn());
            assertEquals(txns.get(6).commitLsn(), log.startLsn());
            assertThrows(ChangelogPositionLostException.class, () -> log.openReader(txns.get(5).commitLsn()));
            assertRetained(log, txns);
        }
        try (Changelog log = Changelog.open(dir, SMALL)) {
            assertEquals(txns.get(6).commitLsn(), log.startLsn(), "learned again at open by scanning the first segment");
        }
    }
}
