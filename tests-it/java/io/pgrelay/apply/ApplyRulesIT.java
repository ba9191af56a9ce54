package io.pgrelay.apply;

import static io.pgrelay.it.Eventually.assertReplicated;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.Eventually;
import io.pgrelay.it.RelayRunner;
import io.pgrelay.it.ReplicationPair;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The apply rules of DESIGN.md against real PostgreSQL. Each test has its own tables,
 * publication and slot on one shared pair of clusters.
 */
@Timeout(120)
class ApplyRulesIT {

    private static final Duration CATCH_UP = Duration.ofSeconds(30);
    private static final Duration START = Duration.ofSeconds(30);
    private static ReplicationPair pair;

    @BeforeAll
    static void startClusters() throws Exception {
        pair = ReplicationPair.start("rules");
    }

    @AfterAll
    static void stopClusters() {
        if (pair != null) {
            pair.close();
        }
    }

    private static RelayRunner relay(String name, String... overrides) {
        RelayRunner relay = starting(name, overrides);
        try {
            relay.awaitStreaming(START);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
        return relay;
    }

    /** A relay that may stop before it is seen streaming: one that meets a refused row at once. */
    private static RelayRunner starting(String name, String... overrides) {
        Properties properties = pair.properties(name, name);
        for (int i = 0; i < overrides.length; i += 2) {
            properties.setProperty(overrides[i], overrides[i + 1]);
        }
        return RelayRunner.start(pair.config(properties));
    }

    @Test
    void mixedCaseUnicodeAndKeywordNames() throws Exception {
        pair.schema("CREATE SCHEMA \"Sch ema\"",
                "CREATE TABLE \"Sch ema\".\"Ünï \"\"Tåble\"\"\" (\"Id\" int PRIMARY KEY, \"select\" text, \"Mixed Col\" int, \"ü\" text)");
        pair.upstream("CREATE PUBLICATION names FOR TABLE \"Sch ema\".\"Ünï \"\"Tåble\"\"\"");
        try (RelayRunner relay = relay("names")) {
            pair.upstream("INSERT INTO \"Sch ema\".\"Ünï \"\"Tåble\"\"\" VALUES (1, 'a', 1, 'x'), (2, 'b', 2, 'y')",
                    "UPDATE \"Sch ema\".\"Ünï \"\"Tåble\"\"\" SET \"select\" = 'c', \"Id\" = 3 WHERE \"Id\" = 1",
                    "DELETE FROM \"Sch ema\".\"Ünï \"\"Tåble\"\"\" WHERE \"Id\" = 2");
            assertReplicated(pair, "SELECT t::text FROM \"Sch ema\".\"Ünï \"\"Tåble\"\"\" t ORDER BY 1", CATCH_UP);
        }
    }

    /**
     * UPDATE, DELETE and TRUNCATE of a table reach that table's own rows, as native apply does:
     * rows of a downstream-only inheritance child with the same keys are left alone, and a
     * downstream table that is partitioned is reached through its partitions.
     */
    @Test
    void changesReachTheTableItselfNotItsInheritanceChildrenButItsPartitions() throws Exception {
        pair.upstream("CREATE TABLE inh_parent (id int PRIMARY KEY, v text)",
                "CREATE TABLE part_target (id int PRIMARY KEY, v text)");
        pair.downstream("CREATE TABLE inh_parent (id int PRIMARY KEY, v text)",
                "CREATE TABLE inh_child (note text) INHERITS (inh_parent)",
                "INSERT INTO inh_child VALUES (1, 'child one', 'downstream only'), (2, 'child two', 'downstream only')",
                "CREATE TABLE part_target (id int PRIMARY KEY, v text) PARTITION BY RANGE (id)",
                "CREATE TABLE part_low PARTITION OF part_target FOR VALUES FROM (0) TO (100)",
                "CREATE TABLE part_high PARTITION OF part_target FOR VALUES FROM (100) TO (1000)");
        pair.upstream("CREATE PUBLICATION own_rows FOR TABLE inh_parent, part_target");
        List<List<String>> childRows = List.of(List.of("1", "child one"), List.of("2", "child two"));
        try (RelayRunner relay = relay("own_rows")) {
            pair.upstream("INSERT INTO inh_parent VALUES (1, 'one'), (2, 'two'), (3, 'three')",
                    "INSERT INTO part_target SELECT g, 'v' || g FROM generate_series(1, 200) g",
                    "UPDATE inh_parent SET v = 'ONE' WHERE id = 1",
                    "DELETE FROM inh_parent WHERE id = 2",
                    "UPDATE part_target SET v = 'changed' WHERE id % 10 = 0",
                    "DELETE FROM part_target WHERE id % 7 = 0");
            assertReplicated(pair, "SELECT id, v FROM ONLY inh_parent ORDER BY id", CATCH_UP);
            assertReplicated(pair, "SELECT id, v FROM part_target ORDER BY id", CATCH_UP);
            assertEquals(childRows, pair.downstreamRows("SELECT id, v FROM inh_child ORDER BY id"),
                    "the child's rows with the same keys are untouched");
            pair.upstream("TRUNCATE inh_parent, part_target");
            assertReplicated(pair, "SELECT count(*) FROM ONLY inh_parent", CATCH_UP);
            assertReplicated(pair, "SELECT count(*) FROM part_target", CATCH_UP);
            assertEquals(childRows, pair.downstreamRows("SELECT id, v FROM inh_child ORDER BY id"),
                    "TRUNCATE of the parent leaves the child's rows");
            assertFalse(relay.hasExited(), "the relay kept running: " + relay.failure());
        }
    }

    @Test
    void everyReplicaIdentityKind() throws Exception {
        pair.schema(
                "CREATE TABLE ri_default (id int PRIMARY KEY, v text)",
                "CREATE TABLE ri_index (a int NOT NULL, b text NOT NULL, v text)",
                "CREATE UNIQUE INDEX ri_index_ab ON ri_index (a, b)",
                "ALTER TABLE ri_index REPLICA IDENTITY USING INDEX ri_index_ab",
                // FULL without a key, with duplicate rows, NULLs and types that have no '='.
                "CREATE TABLE ri_full (a int, j json, p point, x xml, v text)",
                "ALTER TABLE ri_full REPLICA IDENTITY FULL");
        pair.upstream("CREATE PUBLICATION identities FOR TABLE ri_default, ri_index, ri_full");
        try (RelayRunner relay = relay("identities")) {
            pair.upstream(
                    "INSERT INTO ri_default SELECT g, 'v' || g FROM generate_series(1, 50) g",
                    "INSERT INTO ri_index SELECT g, 'k' || g, 'v' FROM generate_series(1, 50) g",
                    "INSERT INTO ri_full VALUES (1, '{\"a\": 1}', '(1,2)', '<a/>', 'dup'), (1, '{\"a\": 1}', '(1,2)', '<a/>', 'dup'),"
                            + " (NULL, NULL, NULL, NULL, NULL), (2, '[ 1 ]', '(0,0)', '<b>t</b>', 'x')",
                    "UPDATE ri_default SET v = 'changed' WHERE id % 3 = 0",
                    "DELETE FROM ri_default WHERE id % 5 = 0",
                    "UPDATE ri_index SET v = 'changed', b = b || '!' WHERE a % 3 = 0",
                    "DELETE FROM ri_index WHERE a % 5 = 0",
                    // Changes exactly one of the two duplicates, as upstream did.
                    "UPDATE ri_full SET v = 'one of two' WHERE ctid = (SELECT min(ctid) FROM ri_full WHERE v = 'dup')",
                    "UPDATE ri_full SET v = 'was null' WHERE a IS NULL",
                    "DELETE FROM ri_full WHERE a = 2");
            assertReplicated(pair, "SELECT id, v FROM ri_default ORDER BY id", CATCH_UP);
            assertReplicated(pair, "SELECT a, b, v FROM ri_index ORDER BY a", CATCH_UP);
            assertReplicated(pair, "SELECT a, j::text, p::text, x::text, v FROM ri_full ORDER BY v, a", CATCH_UP);
            assertEquals(3, pair.downstreamRows("SELECT * FROM ri_full").size());
        }
    }

    @Test
    void unchangedToastIsLeftAsIsAndPrimaryKeyChangesMoveTheRow() throws Exception {
        pair.schema("CREATE TABLE toasty (id int PRIMARY KEY, small int, big text)");
        pair.upstream("CREATE PUBLICATION toast FOR TABLE toasty");
        try (RelayRunner relay = relay("toast")) {
            // Random hex does not compress below the TOAST threshold: stored out of line.
            pair.upstream("INSERT INTO toasty SELECT g, 0, (SELECT string_agg(md5(random()::text || h), '') "
                    + "FROM generate_series(1, 400 + g) h) FROM generate_series(1, 5) g");
            assertReplicated(pair, "SELECT id, small, md5(big) FROM toasty ORDER BY id", CATCH_UP);
            // 'big' is not sent (unchanged TOAST): the downstream must keep its value.
            pair.upstream("UPDATE toasty SET small = small + 1", "UPDATE toasty SET id = id + 100, small = 7 WHERE id = 1");
            assertReplicated(pair, "SELECT id, small, md5(big), length(big) FROM toasty ORDER BY id", CATCH_UP);
            assertEquals(List.of("101", "7"), pair.downstreamRows("SELECT id, small FROM toasty WHERE id = 101").get(0));
        }
    }

    @Test
    void truncateKeepsCascadeAndRestartIdentity() throws Exception {
        pair.schema("CREATE TABLE parent (id serial PRIMARY KEY, v text)",
                "CREATE TABLE other (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY)");
        // Downstream only: a child that only CASCADE can empty.
        pair.downstream("CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent)");
        pair.upstream("CREATE PUBLICATION truncs FOR TABLE parent, other");
        try (RelayRunner relay = relay("truncs")) {
            pair.upstream("INSERT INTO parent (v) SELECT 'p' FROM generate_series(1, 10)",
                    "INSERT INTO other SELECT FROM generate_series(1, 10)");
            assertReplicated(pair, "SELECT count(*) FROM parent", CATCH_UP);
            pair.downstream("INSERT INTO child VALUES (1, 1)", "SELECT setval('parent_id_seq', 500)", "SELECT setval('other_id_seq', 500)");

            pair.upstream("TRUNCATE parent, other RESTART IDENTITY CASCADE", "INSERT INTO other VALUES (DEFAULT)");
            assertReplicated(pair, "SELECT id FROM other ORDER BY id", CATCH_UP);
            assertEquals(List.of(List.of("0")), pair.downstreamRows("SELECT count(*) FROM parent"));
            assertEquals(List.of(List.of("0")), pair.downstreamRows("SELECT count(*) FROM child"), "CASCADE reached the child");
            assertEquals(List.of(List.of("1", "f")), pair.downstreamRows("SELECT last_value, is_called FROM parent_id_seq"),
                    "RESTART IDENTITY reset the downstream sequence");
        }
    }

    @Test
    void rolledBackWorkIsInvisibleAndCommitOrderIsKept() throws Exception {
        pair.schema("CREATE TABLE ledger (id int PRIMARY KEY, v int)");
        pair.upstream("CREATE PUBLICATION ledger FOR TABLE ledger");
        try (RelayRunner relay = relay("ledger")) {
            try (Connection c = pair.upstream.connect(ReplicationPair.DB); Statement s = c.createStatement()) {
                c.setAutoCommit(false);
                s.execute("INSERT INTO ledger VALUES (1, 1)");
                c.rollback();
                s.execute("INSERT INTO ledger VALUES (2, 2)");
                s.execute("SAVEPOINT sp");
                s.execute("INSERT INTO ledger VALUES (3, 3)");
                s.execute("ROLLBACK TO SAVEPOINT sp");
                s.execute("UPDATE ledger SET v = 20 WHERE id = 2");
                c.commit();
                // Many small transactions touching one row: only order makes the end state right.
                for (int i = 0; i < 200; i++) {
                    s.execute("UPDATE ledger SET v = " + i + " WHERE id = 2");
                    c.commit();
                }
            }
            assertReplicated(pair, "SELECT id, v FROM ledger ORDER BY id", CATCH_UP);
            assertEquals(List.of(List.of("2", "199")), pair.downstreamRows("SELECT id, v FROM ledger"));
        }
    }

    @Test
    void conflictErrorStopsAtTheCheckpointNamingTableKeyAndLsn() throws Exception {
        pair.schema("CREATE TABLE strict (id int PRIMARY KEY, v text)");
        pair.upstream("CREATE PUBLICATION strict FOR TABLE strict");
        pair.downstream("INSERT INTO strict VALUES (7, 'already here')");
        try (RelayRunner relay = relay("strict")) {
            pair.upstream("INSERT INTO strict VALUES (1, 'ok')");
            assertReplicated(pair, "SELECT * FROM strict WHERE id = 1", CATCH_UP);
            List<List<String>> before = checkpoint("strict");
            pair.upstream("INSERT INTO strict VALUES (7, 'upstream')");
            assertEquals(1, relay.awaitExit(CATCH_UP), "exit code 1 on a conflict");
            String failure = relay.failure();
            assertNotNull(failure);
            assertTrue(failure.contains("\"public\".\"strict\"") && failure.contains("(id)=(7)") && failure.contains("LSN 0/"),
                    "names table, key and LSN: " + failure);
            assertEquals(before, checkpoint("strict"), "checkpoint stays at the last good transaction");
        }
        // The operator fixes the row; the relay resumes from its checkpoint and converges.
        pair.downstream("DELETE FROM strict WHERE id = 7");
        try (RelayRunner relay = relay("strict")) {
            pair.upstream("UPDATE strict SET v = 'after fix' WHERE id = 1");
            assertReplicated(pair, "SELECT * FROM strict ORDER BY id", CATCH_UP);
        }
    }

    /**
     * Bad data: the downstream refuses one row (a CHECK constraint the upstream lacks) in the middle
     * of an upstream transaction that arrives in a catch-up group with good transactions around it.
     * The relay stops with exit 1 naming table, key, LSN and SQLSTATE; the downstream keeps its last
     * good checkpoint and none of the refused transaction; once the constraint is dropped a restart
     * delivers everything exactly once (guarded_log has no key, so a doubled row would show).
     */
    @Test
    void aRowRefusedDownstreamStopsAtTheLastGoodCheckpointAndResumesOnceFixed() throws Exception {
        pair.schema("CREATE TABLE guarded (id int PRIMARY KEY, qty int NOT NULL)", "CREATE TABLE guarded_log (n int, note text)");
        pair.upstream("CREATE PUBLICATION guarded FOR TABLE guarded, guarded_log");
        pair.downstream("ALTER TABLE guarded ADD CONSTRAINT qty_below_100 CHECK (qty < 100)");
        try (RelayRunner relay = relay("guarded")) {
            pair.upstream("INSERT INTO guarded VALUES (1, 1)", "INSERT INTO guarded_log VALUES (1, 'baseline')");
            assertReplicated(pair, "SELECT n, note FROM guarded_log ORDER BY n", CATCH_UP);
        }
        List<List<String>> lastGood = checkpoint("guarded");
        // While the relay is down: good, good, refused (one statement, so one transaction), good.
        pair.upstream("INSERT INTO guarded VALUES (2, 2)", "INSERT INTO guarded_log VALUES (2, 'before')");
        long beforeRefused = lsn(pair.upstreamRows("SELECT pg_current_wal_lsn()::text").get(0).get(0));
        pair.upstream("WITH log AS (INSERT INTO guarded_log VALUES (3, 'same transaction as the refused row')) "
                        + "INSERT INTO guarded VALUES (3, 3), (4, 500), (5, 5)",
                "INSERT INTO guarded_log VALUES (4, 'after')");
        try (RelayRunner relay = starting("guarded")) {
            assertEquals(1, relay.awaitExit(CATCH_UP), "exit code 1 when the downstream refuses a row");
            String failure = relay.failure();
            assertNotNull(failure);
            assertTrue(failure.contains("\"public\".\"guarded\"") && failure.contains("(id)=(4)") && failure.contains("LSN 0/")
                    && failure.contains("23514"), "names table, key, LSN and SQLSTATE: " + failure);
            System.out.println("refused row, as the relay reports it: " + failure);
        }
        List<List<String>> stopped = checkpoint("guarded");
        assertTrue(stopped.equals(lastGood) || pair.downstreamRows("SELECT 1 FROM guarded WHERE id = 2").size() == 1,
                "the checkpoint moved past transactions that are not in the downstream");
        System.out.println("refused row: the checkpoint " + (stopped.equals(lastGood)
                ? "stayed at the last transaction before the catch-up group (the group was rolled back whole)"
                : "moved to the last good transaction before the refused one"));
        assertEquals(List.of(), pair.downstreamRows("SELECT id FROM guarded WHERE id >= 3"), "nothing of the refused transaction");
        assertEquals(List.of(), pair.downstreamRows("SELECT n FROM guarded_log WHERE n >= 3"), "nothing at or after the refused row");
        assertTrue(Long.compareUnsigned(lsn(stopped.get(0).get(0)), beforeRefused) <= 0,
                "checkpoint " + stopped + " must be before the refused transaction");

        // The operator decides the row is right and the constraint wrong: drop it and start again.
        pair.downstream("ALTER TABLE guarded DROP CONSTRAINT qty_below_100");
        try (RelayRunner relay = relay("guarded")) {
            pair.upstream("INSERT INTO guarded_log VALUES (5, 'after the fix')");
            assertReplicated(pair, "SELECT n, note FROM guarded_log ORDER BY n, note", CATCH_UP);
            assertReplicated(pair, "SELECT id, qty FROM guarded ORDER BY id", CATCH_UP);
        }
        assertEquals(List.of(List.of("5", "5")), pair.downstreamRows("SELECT count(*), count(DISTINCT n) FROM guarded_log"),
                "every logged row exactly once");
    }

    @Test
    void conflictErrorOnUpdateOfMissingRow() throws Exception {
        pair.schema("CREATE TABLE strict2 (id int PRIMARY KEY, v text)");
        pair.upstream("CREATE PUBLICATION strict2 FOR TABLE strict2", "INSERT INTO strict2 VALUES (1, 'only upstream')");
        try (RelayRunner relay = relay("strict2")) {
            pair.upstream("UPDATE strict2 SET v = 'x' WHERE id = 1");
            assertEquals(1, relay.awaitExit(CATCH_UP));
            assertTrue(relay.failure().contains("(id)=(1)") && relay.failure().contains("does not exist downstream"),
                    relay.failure());
        }
    }

    @Test
    void conflictSkipLeavesDownstreamRowsAlone() throws Exception {
        pair.schema("CREATE TABLE lenient (id int PRIMARY KEY, v text)");
        pair.upstream("CREATE PUBLICATION lenient FOR TABLE lenient", "INSERT INTO lenient VALUES (2, 'up only'), (3, 'up only')");
        pair.downstream("INSERT INTO lenient VALUES (1, 'downstream wins')");
        try (RelayRunner relay = relay("lenient", "apply.conflict", "skip")) {
            pair.upstream("INSERT INTO lenient VALUES (1, 'upstream')", "UPDATE lenient SET v = 'u' WHERE id = 2",
                    "DELETE FROM lenient WHERE id = 3", "INSERT INTO lenient VALUES (4, 'new')");
            assertReplicated(pair, "SELECT * FROM lenient WHERE id = 4", CATCH_UP);
            assertEquals(List.of(List.of("1", "downstream wins"), List.of("4", "new")),
                    pair.downstreamRows("SELECT * FROM lenient ORDER BY id"));
            assertTrue(!relay.hasExited(), "skip keeps the relay running");
        }
    }

    @Test
    void conflictUpsertMakesDownstreamEqualUpstream() throws Exception {
        pair.schema("CREATE TABLE converge (id int PRIMARY KEY, v text, n numeric(10,2))");
        pair.upstream("CREATE PUBLICATION converge FOR TABLE converge",
                "INSERT INTO converge VALUES (2, 'up only', 2), (3, 'up only', 3)");
        pair.downstream("INSERT INTO converge VALUES (1, 'stale', 0)");
        try (RelayRunner relay = relay("converge", "apply.conflict", "upsert")) {
            pair.upstream("INSERT INTO converge VALUES (1, 'upstream', 1.5)",
                    "UPDATE converge SET v = 'updated' WHERE id = 2",
                    "UPDATE converge SET id = 30, v = 'moved' WHERE id = 3",
                    "DELETE FROM converge WHERE id = 99");
            assertReplicated(pair, "SELECT * FROM converge ORDER BY id", CATCH_UP);
        }
    }

    @Test
    void aRefusedRowInsideARunOfInsertsIsNamedExactly() throws Exception {
        pair.schema("CREATE TABLE runs (id int PRIMARY KEY, v text)");
        pair.upstream("CREATE PUBLICATION runs FOR TABLE runs");
        pair.downstream("ALTER TABLE runs ADD CONSTRAINT no_bad CHECK (v <> 'bad')");
        try (RelayRunner relay = relay("runs")) {
            pair.upstream("INSERT INTO runs VALUES (0, 'first')");
            assertReplicated(pair, "SELECT * FROM runs", CATCH_UP);
            List<List<String>> before = checkpoint("runs");
            // One run of 600 inserts goes as COPY; row 337 breaks it and must be the one named.
            pair.upstream("INSERT INTO runs SELECT g, CASE WHEN g = 337 THEN 'bad' ELSE 'ok' END FROM generate_series(1, 600) g");
            assertEquals(1, relay.awaitExit(CATCH_UP));
            assertTrue(relay.failure().contains("(id)=(337)") && relay.failure().contains("23514"), relay.failure());
            assertEquals(before, checkpoint("runs"), "checkpoint stays at the last good transaction");
            assertEquals(List.of(List.of("1")), pair.downstreamRows("SELECT count(*) FROM runs"), "nothing of the refused transaction");
        }
    }

    @Test
    void conflictsInsideARunOfInsertsFollowSkipAndUpsert() throws Exception {
        pair.schema("CREATE TABLE run_skip (id int PRIMARY KEY, v text)", "CREATE TABLE run_upsert (id int PRIMARY KEY, v text)");
        pair.upstream("CREATE PUBLICATION run_skip FOR TABLE run_skip", "CREATE PUBLICATION run_upsert FOR TABLE run_upsert");
        pair.downstream("INSERT INTO run_skip VALUES (100, 'downstream')", "INSERT INTO run_upsert VALUES (100, 'downstream')");
        try (RelayRunner skip = relay("run_skip", "apply.conflict", "skip");
             RelayRunner upsert = relay("run_upsert", "apply.conflict", "upsert")) {
            pair.upstream("INSERT INTO run_skip SELECT g, 'up ' || g FROM generate_series(1, 300) g",
                    "INSERT INTO run_upsert SELECT g, 'up ' || g FROM generate_series(1, 300) g");
            Eventually.assertSameRows(() -> List.of(List.of("300", "45150")),
                    () -> pair.downstreamRows("SELECT count(*), sum(id) FROM run_skip"), CATCH_UP, "run_skip");
            assertEquals(List.of(List.of("downstream")), pair.downstreamRows("SELECT v FROM run_skip WHERE id = 100"));
            assertReplicated(pair, "SELECT * FROM run_upsert ORDER BY id", CATCH_UP);
            assertTrue(!skip.hasExited() && !upsert.hasExited(), "both keep running");
        }
    }

    @Test
    void missingDownstreamTableIsNamed() throws Exception {
        pair.upstream("CREATE TABLE upstream_only (id int PRIMARY KEY)", "CREATE PUBLICATION missing FOR TABLE upstream_only");
        try (RelayRunner relay = relay("missing")) {
            pair.upstream("INSERT INTO upstream_only VALUES (1)");
            assertEquals(1, relay.awaitExit(CATCH_UP));
            assertTrue(relay.failure().contains("\"public\".\"upstream_only\" does not exist"), relay.failure());
        }
    }

    @Test
    void checkpointAndSlotMeetAfterACleanStop() throws Exception {
        pair.schema("CREATE TABLE busy (id int PRIMARY KEY)");
        pair.upstream("CREATE PUBLICATION busy FOR TABLE busy");
        try (RelayRunner relay = relay("busy", "apply.group-changes", "100", "apply.batch-size", "7")) {
            for (int i = 0; i < 20; i++) {
                pair.upstream("INSERT INTO busy SELECT g FROM generate_series(" + (i * 100) + ", " + (i * 100 + 99) + ") g");
            }
            assertReplicated(pair, "SELECT count(*), sum(id) FROM busy", CATCH_UP);
        }
        List<List<String>> checkpoint = checkpoint("busy");
        List<List<String>> slot = pair.upstreamRows("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'busy'");
        assertEquals(slot.get(0).get(0), checkpoint.get(0).get(0), "upstream acknowledged exactly the downstream checkpoint");
        List<List<String>> commitTimes = pair.upstreamRows("SELECT 1");
        assertNotNull(commitTimes);
        assertNotNull(checkpoint.get(0).get(1), "checkpoint carries the root commit time");
    }

    private static long lsn(String text) {
        return org.postgresql.replication.LogSequenceNumber.valueOf(text).asLong();
    }

    private static List<List<String>> checkpoint(String relayName) throws Exception {
        return pair.downstreamRows("SELECT end_lsn::text, commit_time::text FROM pgrelay.checkpoint WHERE relay_name = '" + relayName + "'");
    }
}
