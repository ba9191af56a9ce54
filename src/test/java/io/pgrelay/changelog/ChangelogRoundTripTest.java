package io.pgrelay.changelog;

import static io.pgrelay.changelog.Pg.append;
import static io.pgrelay.changelog.Pg.appendAll;
import static io.pgrelay.changelog.Pg.assertSameRecords;
import static io.pgrelay.changelog.Pg.read;
import static io.pgrelay.changelog.Pg.records;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.changelog.Pg.Gen;
import io.pgrelay.changelog.Pg.Rec;
import io.pgrelay.changelog.Pg.Txn;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class ChangelogRoundTripTest {

    static final ChangelogOptions SMALL = Pg.SMALL_SEGMENTS;
    static final Duration SHORT = Duration.ofMillis(50);

    @TempDir
    Path dir;

    static List<Txn> randomTxns(Gen gen, int count, long seed) {
        Random r = new Random(seed);
        List<Txn> txns = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            txns.add(gen.inserts(1 + r.nextInt(5), 50 + r.nextInt(250)));
        }
        return txns;
    }

    static long filesSize(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.mapToLong(p -> p.toFile().length()).sum();
        }
    }

    static long fileCount(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    @Test
    void roundTripOverSeveralSegmentsAndAcrossReopen() throws Exception {
        Gen gen = new Gen();
        List<Txn> txns = randomTxns(gen, 200, 1);
        try (Changelog log = Changelog.open(dir, SMALL)) {
            assertEquals(0, log.endLsn());
            assertEquals(0, log.startLsn());
            appendAll(log, txns);
            assertEquals(txns.get(199).endLsn(), log.endLsn());
            assertEquals(0, log.durableEndLsn(), "nothing is durable before sync");
            log.sync();
            assertEquals(txns.get(199).endLsn(), log.durableEndLsn());
            assertTrue(log.segmentCount() > 5, "several segments: " + log.segmentCount());
            assertEquals(fileCount(dir), log.segmentCount());
            assertEquals(filesSize(dir), log.retainedBytes());
            assertEquals(txns.get(0).commitLsn(), log.startLsn());
            try (ChangelogReader reader = log.openReader(0)) {
                assertSameRecords(records(txns), read(reader, records(txns).size()));
                assertNull(reader.next(SHORT));
            }
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertTrue(files.allMatch(p -> p.getFileName().toString().matches("[0-9A-F]{16}-[0-9A-F]{16}\\.seg")));
        }

        List<Txn> more = randomTxns(gen, 50, 2);
        try (Changelog log = Changelog.open(dir, SMALL)) {
            assertEquals(txns.get(199).endLsn(), log.endLsn());
            assertEquals(txns.get(199).endLsn(), log.durableEndLsn());
            assertEquals(txns.get(0).commitLsn(), log.startLsn());
            appendAll(log, more);
            log.sync();
            List<Txn> all = new ArrayList<>(txns);
            all.addAll(more);
            try (ChangelogReader reader = log.openReader(0)) {
                assertSameRecords(records(all), read(reader, records(all).size()));
                assertNull(reader.next(SHORT));
            }
        }
    }

    @Test
    void readerStartsAtTheFirstTransactionCommittingAtOrAfterItsPosition() throws Exception {
        Gen gen = new Gen();
        List<Txn> txns = randomTxns(gen, 120, 3);
        try (Changelog log = Changelog.open(dir, SMALL)) {
            appendAll(log, txns);
            log.sync();
            for (int i = 0; i < txns.size(); i += 7) {
                Txn t = txns.get(i);
                try (ChangelogReader reader = log.openReader(t.commitLsn())) {
                    List<Txn> rest = txns.subList(i, txns.size());
                    assertSameRecords(records(rest), read(reader, records(rest).size()));
                }
                if (i + 1 < txns.size()) {
                    // A position between two commits (e.g. a previous end LSN) starts at the next one.
                    try (ChangelogReader reader = log.openReader(t.commitLsn() + 1)) {
                        assertEquals(txns.get(i + 1).begin(), Pg.rec(reader.next(SHORT)));
                    }
                    try (ChangelogReader reader = log.openReader(t.endLsn())) {
                        assertEquals(txns.get(i + 1).begin(), Pg.rec(reader.next(SHORT)));
                    }
                }
            }
            // A position beyond the end waits for the future.
            try (ChangelogReader reader = log.openReader(gen.nextLsn() + 0x10_000)) {
                assertNull(reader.next(SHORT));
                List<Txn> later = randomTxns(gen, 400, 4);
                appendAll(log, later);
                log.sync();
                Txn firstWanted = later.stream().filter(t -> t.commitLsn() >= reader.fromLsn()).findFirst().orElseThrow();
                assertEquals(firstWanted.begin(), Pg.rec(reader.next(SHORT)));
            }
        }
    }

    @Test
    void recordsLargerThanSegmentsAndBuffersRoundTrip() throws Exception {
        ChangelogOptions options = new ChangelogOptions(4096, 1024, 256, 1 << 20);
        Gen gen = new Gen();
        List<Txn> txns = List.of(gen.inserts(1, 100), gen.inserts(1, 10_000), gen.inserts(3, 5000),
                gen.inserts(2, 30), gen.inserts(1, 200_000), gen.inserts(1, 10));
        try (Changelog log = Changelog.open(dir, options)) {
            appendAll(log, txns);
            log.sync();
            try (ChangelogReader reader = log.openReader(0)) {
                assertSameRecords(records(txns), read(reader, records(txns).size()));
            }
            try (ChangelogReader reader = log.openReader(txns.get(4).commitLsn())) {
                assertSameRecords(records(txns.subList(4, 6)), read(reader, records(txns.subList(4, 6)).size()));
            }
        }
        try (Changelog log = Changelog.open(dir, options); ChangelogReader reader = log.openReader(0)) {
            assertSameRecords(records(txns), read(reader, records(txns).size()));
        }
    }

    @Test
    void transactionsSpanSegmentsAndReadersStartingInsideOneSkipItsRest() throws Exception {
        Gen gen = new Gen();
        Txn small = gen.inserts(1, 100);
        Txn big = gen.inserts(100, 200);  // ~25 KB: spans several 4 KiB segments
        Txn after = gen.inserts(2, 100);
        try (Changelog log = Changelog.open(dir, SMALL)) {
            appendAll(log, List.of(small, big, after));
            log.sync();
            assertTrue(log.segmentCount() >= 6);
            try (ChangelogReader reader = log.openReader(after.commitLsn())) {
                assertSameRecords(after.records(), read(reader, 4));
                assertNull(reader.next(SHORT));
            }
            try (ChangelogReader reader = log.openReader(big.commitLsn())) {
                assertSameRecords(records(List.of(big, after)), read(reader, 102 + 4));
            }
        }
        long midTransactionSegments = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.toList()) {
                RecordFormat.SegmentHeader h = Recovery.readHeader(p);
                if (h.startsMidTransaction()) {
                    assertEquals(h.firstKey(), h.prevLastKey(), "continues the transaction its predecessor ended in");
                    if (h.firstKey() == big.commitLsn()) {
                        midTransactionSegments++;
                    }
                }
            }
        }
        assertTrue(midTransactionSegments >= 4, "segments starting inside the big transaction: " + midTransactionSegments);
    }

    @Test
    void nonTransactionalMessagesAreUnitsOfTheirOwn() throws Exception {
        Gen gen = new Gen();
        Txn t1 = gen.inserts(1, 10);
        Txn m = gen.message("heartbeat 1");
        Txn t2 = gen.inserts(1, 10);
        try (Changelog log = Changelog.open(dir, SMALL)) {
            appendAll(log, List.of(t1, m));
            log.sync();
            assertEquals(t1.endLsn(), log.durableEndLsn(), "a message does not move the end LSN");
            try (ChangelogReader reader = log.openReader(m.commitLsn())) {
                assertEquals(m.records().get(0), Pg.rec(reader.next(SHORT)));
                append(log, t2);
                log.sync();
                assertSameRecords(t2.records(), read(reader, 3));
            }
            assertFalse(log.append(m.records().get(0).lsn(), m.records().get(0).buffer()), "re-sent message is skipped");
        }
    }

    @Test
    void resentTransactionsAreSkipped() throws Exception {
        Gen gen = new Gen();
        List<Txn> txns = randomTxns(gen, 8, 5);
        try (Changelog log = Changelog.open(dir, SMALL)) {
            appendAll(log, txns.subList(0, 5));
            // The upstream restarts from an earlier position and sends 3..7 again.
            for (Txn t : txns.subList(3, 5)) {
                for (Rec r : t.records()) {
                    assertFalse(log.append(r.lsn(), r.buffer()));
                }
            }
            for (Txn t : txns.subList(5, 8)) {
                for (Rec r : t.records()) {
                    assertTrue(log.append(r.lsn(), r.buffer()));
                }
            }
            log.sync();
            try (ChangelogReader reader = log.openReader(0)) {
                assertSameRecords(records(txns), read(reader, records(txns).size()));
                assertNull(reader.next(SHORT));
            }
        }
    }

    @Test
    void malformedOrOutOfOrderMessagesAreRejectedAndLeaveTheLogUsable() throws Exception {
        Gen gen = new Gen();
        Txn t1 = gen.inserts(2, 10);
        Txn t2 = gen.inserts(2, 10);
        ChangelogOptions options = SMALL.withMaxRecordBytes(1024);
        try (Changelog log = Changelog.open(dir, options)) {
            assertThrows(IllegalArgumentException.class, () -> log.append(1, ByteBuffer.allocate(0)));
            assertThrows(IllegalArgumentException.class, () -> log.append(1, ByteBuffer.wrap(Pg.insert(1, 5, 1))),
                    "a change outside a transaction");
            assertThrows(IllegalArgumentException.class, () -> log.append(1, ByteBuffer.wrap(new byte[] {'B', 0, 0})),
                    "a short Begin");
            log.append(t1.records().get(0).lsn(), t1.records().get(0).buffer());
            assertThrows(IllegalArgumentException.class,
                    () -> log.append(1, ByteBuffer.wrap(Pg.insert(1, 2000, 1))), "larger than maxRecordBytes");
            assertThrows(IllegalStateException.class, () -> log.append(1, t2.begin().buffer()), "Begin inside a transaction");
            assertThrows(IllegalArgumentException.class,
                    () -> log.append(1, ByteBuffer.wrap(Pg.commit(t2.commitLsn(), t2.endLsn()))), "Commit of another one");
            for (Rec r : t1.records().subList(1, t1.records().size())) {
                log.append(r.lsn(), r.buffer());
            }
            append(log, t2);
            log.sync();
            try (ChangelogReader reader = log.openReader(0)) {
                assertSameRecords(records(List.of(t1, t2)), read(reader, 8));
            }
        }
    }

    @Test
    void appendLeavesTheCallersBufferAloneAndRecordsAreReadOnly() throws Exception {
        Gen gen = new Gen();
        Txn t = gen.inserts(1, 50);
        try (Changelog log = Changelog.open(dir, SMALL)) {
            ByteBuffer wrapped = ByteBuffer.allocate(200);
            wrapped.position(7);
            wrapped.put(t.records().get(1).bytes());
            wrapped.flip().position(7);
            log.append(t.records().get(0).lsn(), t.records().get(0).buffer());
            log.append(t.records().get(1).lsn(), wrapped);
            assertEquals(7, wrapped.position());
            log.append(t.records().get(2).lsn(), t.records().get(2).buffer());
            log.sync();
            try (ChangelogReader reader = log.openReader(0)) {
                reader.next(SHORT);
                ChangelogRecord r = reader.next(SHORT);
                assertTrue(r.message().isReadOnly());
                assertEquals('I', r.type());
                assertArrayEquals(t.records().get(1).bytes(), Pg.bytes(r.message()));
            }
        }
    }
}
