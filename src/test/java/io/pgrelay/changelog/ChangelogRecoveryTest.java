package io.pgrelay.changelog;

import static io.pgrelay.changelog.Pg.append;
import static io.pgrelay.changelog.Pg.appendAll;
import static io.pgrelay.changelog.Pg.assertSameRecords;
import static io.pgrelay.changelog.Pg.read;
import static io.pgrelay.changelog.Pg.records;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.changelog.Pg.Gen;
import io.pgrelay.changelog.Pg.Rec;
import io.pgrelay.changelog.Pg.Txn;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class ChangelogRecoveryTest {

    static final ChangelogOptions SMALL = Pg.SMALL_SEGMENTS;
    static final Duration SHORT = Duration.ofMillis(50);

    @TempDir
    Path dir;

    static List<Txn> txns(Gen gen, int n) {
        return Pg.txns(gen, n, 3, 60, 90);
    }

    List<Path> segmentFiles() throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    Path lastSegment() throws Exception {
        List<Path> files = segmentFiles();
        return files.get(files.size() - 1);
    }

    /** Reopens, checks the log holds exactly {@code expected}, appends {@code more}, checks again. */
    void assertRecoveredTo(List<Txn> expected, Gen gen) throws Exception {
        List<Txn> more = txns(gen, 30);
        try (Changelog log = Changelog.open(dir, SMALL)) {
            Txn last = expected.get(expected.size() - 1);
            assertEquals(last.endLsn(), log.endLsn());
            assertEquals(last.endLsn(), log.durableEndLsn());
            try (ChangelogReader reader = log.openReader(0)) {
                assertSameRecords(records(expected), read(reader, records(expected).size()));
                assertNull(reader.next(SHORT));
                appendAll(log, more);
                log.sync();
                assertSameRecords(records(more), read(reader, records(more).size()));
            }
        }
        List<Txn> all = new ArrayList<>(expected);
        all.addAll(more);
        try (Changelog log = Changelog.open(dir, SMALL); ChangelogReader reader = log.openReader(0)) {
            assertSameRecords(records(all), read(reader, records(all).size()));
            assertNull(reader.next(SHORT));
        }
    }

    @Test
    void tornLastRecordDropsItsTransaction() throws Exception {
        Gen gen = new Gen();
        List<Txn> txns = txns(gen, 40);
        try (Changelog log = Changelog.open(dir, SMALL)) {
            appendAll(log, txns);
        }
        Path last = lastSegment();
        long size = Files.size(last);
        try (FileChannel ch = FileChannel.open(last, StandardOpenOption.WRITE)) {
            ch.truncate(size - 5);  // the last Commit is torn
        }
        assertRecoveredTo(txns.subList(0, 39), gen);
    }

    @Test
    void garbageTailIsTruncated() throws Exception {
        Gen gen = new Gen();
        List<Txn> txns = txns(gen, 40);
        try (Changelog log = Changelog.open(dir, SMALL)) {
            appendAll(log, txns);
        }
        Path last = lastSegment();
        long size = Files.size(last);
        byte[] garbage = new byte[777];
        new Random(7).nextBytes(garbage);
        Files.write(last, garbage, StandardOpenOption.APPEND);
        try (Changelog log = Changelog.open(dir, SMALL)) {
            assertEquals(size, Files.size(last));
            assertEquals(txns.get(39).endLsn(), log.endLsn());
        }
        assertRecoveredTo(txns, gen);
    }

    @Test
    void flippedByteInTheTailFailsItsCrcAndIsTruncated() throws Exception {
        Gen gen = new Gen();
        List<Txn> txns = txns(gen, 40);
        try (Changelog log = Changelog.open(dir, SMALL)) {
            appendAll(log, txns);
        }
        Path last = lastSegment();
        long size = Files.size(last);
        try (FileChannel ch = FileChannel.open(last, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, size - 3);
            b.put(0, (byte) (b.get(0) ^ 0x40)).rewind();
            ch.write(b, size - 3);  // inside the last Commit's payload
        }
        assertRecoveredTo(txns.subList(0, 39), gen);
    }

    @Test
    void incompleteTransactionAtTheTailIsDropped() throws Exception {
        Gen gen = new Gen();
        List<Txn> txns = txns(gen, 30);
        Txn open = gen.inserts(5, 100);
        try (Changelog log = Changelog.open(dir, SMALL)) {
            appendAll(log, txns);
            for (Rec r : open.records().subList(0, 4)) {
                log.append(r.lsn(), r.buffer());
            }
            log.sync();
        }
        assertRecoveredTo(txns, new Gen(open.endLsn() + 0x1000));
    }

    @Test
    void incompleteTransactionSpanningSegmentsIsDroppedWithItsSegments() throws Exception {
        Gen gen = new Gen();
        List<Txn> txns = txns(gen, 30);
        Txn open = gen.inserts(100, 150);  // ~17 KB
        int segmentsBefore;
        try (Changelog log = Changelog.open(dir, SMALL)) {
            appendAll(log, txns);
            log.sync();
            segmentsBefore = log.segmentCount();
            for (Rec r : open.records().subList(0, 90)) {
                log.append(r.lsn(), r.buffer());
            }
            log.sync();
            assertTrue(log.segmentCount() >= segmentsBefore + 3);
        }
        try (Changelog log = Changelog.open(dir, SMALL)) {
            assertEquals(segmentsBefore, log.segmentCount());
            assertEquals(segmentsBefore, segmentFiles().size());
        }
        assertRecoveredTo(txns, new Gen(open.endLsn() + 0x1000));
    }

    @Test
    void crashWithoutCloseKeepsEverythingSyncedAndEndsAtATransactionBoundary() throws Exception {
        Gen gen = new Gen();
        List<Txn> txns = txns(gen, 200);
        Changelog log = Changelog.open(dir, SMALL.withWriteBufferBytes(1000));
        appendAll(log, txns.subList(0, 100));
        log.sync();
        appendAll(log, txns.subList(100, 150));  // partly handed to the OS, partly in the buffer
        Rec[] half = txns.get(150).records().subList(0, 2).toArray(Rec[]::new);
        for (Rec r : half) {
            log.append(r.lsn(), r.buffer());
        }
        log.simulateCrash();
        try (Changelog reopened = Changelog.open(dir, SMALL)) {
            long end = reopened.endLsn();
            int kept = 0;
            while (kept < txns.size() && txns.get(kept).endLsn() <= end) {
                kept++;
            }
            assertTrue(kept >= 100 && kept <= 150, "kept " + kept);
            assertEquals(txns.get(kept - 1).endLsn(), end, "ends at a transaction boundary");
            try (ChangelogReader reader = reopened.openReader(0)) {
                List<Txn> expected = txns.subList(0, kept);
                assertSameRecords(records(expected), read(reader, records(expected).size()));
                assertNull(reader.next(SHORT));
                // The upstream sends again from the durable end on: already present ones are skipped.
                appendAll(reopened, txns.subList(100, 200));
                reopened.sync();
                List<Txn> rest = txns.subList(kept, 200);
                assertSameRecords(records(rest), read(reader, records(rest).size()));
            }
        }
    }

    @Test
    void tornNewSegmentHeaderIsDeleted() throws Exception {
        Gen gen = new Gen();
        List<Txn> txns = txns(gen, 40);
        try (Changelog log = Changelog.open(dir, SMALL)) {
            appendAll(log, txns);
        }
        List<Path> files = segmentFiles();
        long nextSeq = files.size();
        Path torn = dir.resolve(RecordFormat.segmentFileName(nextSeq, gen.nextLsn()));
        Files.write(torn, new byte[] {'P', 'G', 'R', 'L', 0, 0, 0});
        try (Changelog log = Changelog.open(dir, SMALL)) {
            assertEquals(files.size(), log.segmentCount());
            assertTrue(Files.notExists(torn));
        }
        assertRecoveredTo(txns, gen);
    }

    @Test
    void discardIncompleteTailInTheBufferOnDiskAndAcrossSegments() throws Exception {
        Gen gen = new Gen();
        List<Txn> kept = new ArrayList<>();
        try (Changelog log = Changelog.open(dir, SMALL.withWriteBufferBytes(512))) {
            log.discardIncompleteTail();  // nothing open: no-op
            for (int size : new int[] {20, 400, 30_000}) {  // in the buffer / written out / spanning segments
                Txn done = gen.inserts(2, 50);
                append(log, done);
                kept.add(done);
                log.sync();
                int segments = log.segmentCount();
                long bytes = log.retainedBytes();
                Txn aborted = gen.inserts(Math.max(1, size / 150), Math.min(size, 150));
                List<Rec> recs = aborted.records();
                for (Rec r : recs.subList(0, recs.size() - 1)) {
                    log.append(r.lsn(), r.buffer());
                }
                log.discardIncompleteTail();
                assertEquals(segments, log.segmentCount());
                assertEquals(bytes, log.retainedBytes());
                assertEquals(done.endLsn(), log.endLsn());
                // The upstream sends the transaction again, complete this time.
                append(log, aborted);
                kept.add(aborted);
            }
            log.sync();
            try (ChangelogReader reader = log.openReader(0)) {
                assertSameRecords(records(kept), read(reader, records(kept).size()));
                assertNull(reader.next(SHORT));
            }
            assertEquals(log.segmentCount(), segmentFiles().size());
        }
        assertRecoveredTo(kept, gen);
    }

    @Test
    void oversizeLengthFieldInTheTailIsTruncatedWithoutAllocating() throws Exception {
        Gen gen = new Gen();
        List<Txn> txns = txns(gen, 10);
        try (Changelog log = Changelog.open(dir, SMALL)) {
            appendAll(log, txns);
        }
        Path last = lastSegment();
        long size = Files.size(last);
        for (int length : new int[] {Integer.MAX_VALUE, ChangelogOptions.DEFAULT_MAX_RECORD_BYTES - 1, -5}) {
            ByteBuffer frame = ByteBuffer.allocate(40).putInt(length).putInt(0).putLong(1).put(new byte[24]).flip();
            Files.write(last, Pg.bytes(frame), StandardOpenOption.APPEND);
            long allocated = allocatedBytes(() -> Changelog.open(dir, SMALL).close());
            assertTrue(allocated < 64L << 20, "recovery allocated " + allocated + " bytes for a length field of " + length);
            assertEquals(size, Files.size(last));
        }
        assertRecoveredTo(txns, gen);
    }

    @Test
    void badLengthFieldInDurableDataIsReportedToReadersWithoutAllocating() throws Exception {
        Gen gen = new Gen();
        List<Txn> txns = txns(gen, 60);
        try (Changelog log = Changelog.open(dir, SMALL)) {
            appendAll(log, txns);
        }
        Path second = segmentFiles().get(1);
        RecordFormat.SegmentHeader header = Recovery.readHeader(second);
        for (int length : new int[] {Integer.MAX_VALUE, ChangelogOptions.DEFAULT_MAX_RECORD_BYTES - 1}) {
            try (FileChannel ch = FileChannel.open(second, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.allocate(4).putInt(length).flip(), header.recordsStart());
            }
            try (Changelog log = Changelog.open(dir, SMALL); ChangelogReader reader = log.openReader(0)) {
                long allocated = allocatedBytes(() -> {
                    ChangelogCorruptException e = assertThrows(ChangelogCorruptException.class, () -> {
                        while (reader.next(SHORT) != null) {
                            // read up to the damage
                        }
                    });
                    assertTrue(e.getMessage().contains(second.getFileName().toString()), e.getMessage());
                });
                assertTrue(allocated < 64L << 20, "reader allocated " + allocated + " bytes");
            }
        }
    }

    @Test
    void aMissingSegmentInTheMiddleIsCorruption() throws Exception {
        Gen gen = new Gen();
        try (Changelog log = Changelog.open(dir, SMALL)) {
            appendAll(log, txns(gen, 60));
        }
        Files.delete(segmentFiles().get(2));
        ChangelogCorruptException e = assertThrows(ChangelogCorruptException.class, () -> Changelog.open(dir, SMALL));
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
    }

    interface IoAction {
        void run() throws Exception;
    }

    /** Bytes allocated by this thread while running {@code action}. */
    static long allocatedBytes(IoAction action) throws Exception {
        com.sun.management.ThreadMXBean bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long id = Thread.currentThread().getId();
        long before = bean.getThreadAllocatedBytes(id);
        action.run();
        return bean.getThreadAllocatedBytes(id) - before;
    }
}
