package io.pgrelay.changelog;

import static io.pgrelay.changelog.Pg.append;
import static io.pgrelay.changelog.Pg.appendAll;
import static io.pgrelay.changelog.Pg.assertSameRecords;
import static io.pgrelay.changelog.Pg.read;
import static io.pgrelay.changelog.Pg.records;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.changelog.Pg.Gen;
import io.pgrelay.changelog.Pg.Rec;
import io.pgrelay.changelog.Pg.Txn;
import java.nio.ByteBuffer;
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
class ChangelogRelationsTest {

    static final ChangelogOptions SMALL = Pg.SMALL_SEGMENTS;
    static final Duration SHORT = Duration.ofMillis(50);

    @TempDir
    Path dir;

    static final byte[] TYPE_5000 = Pg.type(5000, "mood");
    static final byte[] REL_1_V1 = Pg.relation(1, "orders", 1);
    static final byte[] REL_1_V2 = Pg.relation(1, "orders", 2);
    static final byte[] REL_2 = Pg.relation(2, "items", 1);

    static void assertBytes(byte[] expected, ByteBuffer actual) {
        assertNotNull(actual);
        assertTrue(actual.isReadOnly());
        assertArrayEquals(expected, Pg.bytes(actual));
    }

    @Test
    void readerStartingLateKnowsDefinitionsSentLongBefore() throws Exception {
        Gen gen = new Gen();
        List<Txn> txns = new ArrayList<>();
        txns.add(gen.txn(TYPE_5000, REL_1_V1, REL_2, Pg.insert(1, 10, 1), Pg.insert(2, 10, 2)));
        for (int i = 0; i < 60; i++) {
            txns.add(gen.inserts(2, 150));
        }
        int redefinedAt = txns.size();
        txns.add(gen.txn(REL_1_V2, Pg.insert(1, 10, 3)));
        for (int i = 0; i < 60; i++) {
            txns.add(gen.inserts(2, 150));
        }
        try (Changelog log = Changelog.open(dir, SMALL)) {
            appendAll(log, txns);
            log.sync();
            assertTrue(log.segmentCount() > 8);

            try (ChangelogReader late = log.openReader(txns.get(100).commitLsn())) {
                assertBytes(REL_1_V2, late.relation(1));
                assertBytes(REL_2, late.relation(2));
                assertBytes(TYPE_5000, late.type(5000));
                assertNull(late.relation(3));
                assertNull(late.type(5001));
                assertEquals(txns.get(100).begin(), Pg.rec(late.next(SHORT)));
            }

            try (ChangelogReader middle = log.openReader(txns.get(30).commitLsn())) {
                assertBytes(REL_1_V1, middle.relation(1), "as of its position, before the redefinition");
                assertBytes(REL_2, middle.relation(2));
                List<Txn> upToRedefinition = txns.subList(30, redefinedAt + 1);
                assertSameRecords(records(upToRedefinition), read(middle, records(upToRedefinition).size()));
                assertBytes(REL_1_V2, middle.relation(1), "after reading the redefinition");
            }
        }
        // Also after a restart, from the segment headers.
        try (Changelog log = Changelog.open(dir, SMALL);
             ChangelogReader late = log.openReader(txns.get(110).commitLsn())) {
            assertBytes(REL_1_V2, late.relation(1));
            assertBytes(TYPE_5000, late.type(5000));
        }
    }

    private static void assertBytes(byte[] expected, ByteBuffer actual, String message) {
        assertNotNull(actual, message);
        assertArrayEquals(expected, Pg.bytes(actual), message);
    }

    @Test
    void definitionsSentInsideATransactionThatSpansSegmentsReachLaterReaders() throws Exception {
        Gen gen = new Gen();
        Txn before = gen.inserts(1, 10);
        byte[][] middle = new byte[61][];
        middle[0] = Pg.relation(9, "wide", 1);
        for (int i = 1; i < middle.length; i++) {
            middle[i] = Pg.insert(9, 200, i);
        }
        Txn big = gen.txn(middle);
        Txn after = gen.inserts(1, 10);
        try (Changelog log = Changelog.open(dir, SMALL)) {
            appendAll(log, List.of(before, big, after));
            log.sync();
            assertTrue(log.segmentCount() > 3);
            try (ChangelogReader reader = log.openReader(after.commitLsn())) {
                assertBytes(middle[0], reader.relation(9));
                assertEquals(after.begin(), Pg.rec(reader.next(SHORT)));
            }
        }
    }

    @Test
    void definitionsOfDiscardedTransactionsDoNotLeak() throws Exception {
        Gen gen = new Gen();
        Txn first = gen.txn(REL_1_V1, Pg.insert(1, 10, 1));
        Txn aborted = gen.txn(Pg.relation(7, "ghost", 1), REL_1_V2, Pg.insert(7, 10, 2));
        try (Changelog log = Changelog.open(dir, SMALL)) {
            append(log, first);
            for (Rec r : aborted.records().subList(0, 3)) {
                log.append(r.lsn(), r.buffer());
            }
            log.discardIncompleteTail();
            List<Txn> more = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                more.add(gen.inserts(2, 150));
            }
            appendAll(log, more);
            log.sync();
            assertTrue(log.segmentCount() > 3);
            try (ChangelogReader reader = log.openReader(more.get(35).commitLsn())) {
                assertNull(reader.relation(7), "the discarded Relation is not in later segment headers");
                assertBytes(REL_1_V1, reader.relation(1));
            }
            try (ChangelogReader reader = log.openReader(0)) {
                assertSameRecords(records(List.of(first)), read(reader, 4));
            }
        }
    }

    @Test
    void headerBlocksAndReaderMemoryAreBoundedByTheNumberOfRelations() throws Exception {
        Gen gen = new Gen();
        try (Changelog log = Changelog.open(dir, SMALL)) {
            for (int i = 0; i < 300; i++) {
                // Every "session" re-sends the same five definitions.
                append(log, gen.txn(Pg.type(6000, "t"), Pg.relation(1, "a", i % 3), Pg.relation(2, "b", 1),
                        Pg.relation(3, "c", 1), Pg.relation(4, "d", 1), Pg.insert(1, 100, i)));
            }
            log.sync();
            assertTrue(log.segmentCount() > 20);
            try (ChangelogReader reader = log.openReader(0)) {
                read(reader, 300 * 8);
                assertEquals(5, reader.knownDefinitions());
            }
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.toList()) {
                RecordFormat.SegmentHeader h = Recovery.readHeader(p);
                assertTrue(h.definitionCount() <= 5, p + " has " + h.definitionCount() + " definitions");
            }
        }
    }
}
