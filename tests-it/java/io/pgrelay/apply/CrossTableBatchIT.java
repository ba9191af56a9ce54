package io.pgrelay.apply;

import static io.pgrelay.it.Eventually.assertReplicated;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.RelayRunner;
import io.pgrelay.it.ReplicationPair;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.replication.LogSequenceNumber;

/**
 * Rows of independent tables are sent table by table within a downstream group
 * ({@link CrossTableBatch}): the final content must equal the root's, tables linked by a foreign
 * key or carrying a trigger must keep their exact position, and a refused row in an interleaved
 * group must still be named exactly. Each test has its own tables, publication and slot on one
 * shared pair of clusters.
 */
@Timeout(180)
class CrossTableBatchIT {

    private static final Duration CATCH_UP = Duration.ofSeconds(60);
    private static final Duration START = Duration.ofSeconds(30);
    private static final Pattern LSN = Pattern.compile("LSN ([0-9A-F]+/[0-9A-F]+)");
    private static ReplicationPair pair;

    @BeforeAll
    static void startClusters() throws Exception {
        pair = ReplicationPair.start("xtable");
    }

    @AfterAll
    static void stopClusters() {
        if (pair != null) {
            pair.close();
        }
    }

    /**
     * Inserts, updates, deletes and key changes of three independent tables, interleaved row by row
     * in one big upstream transaction and then in a backlog of small ones that arrive as one
     * catch-up group: the downstream ends equal to the root, and each table's inserts of the big
     * transaction went as one statement (one command id), which only holding rows per table gives.
     */
    @Test
    void interleavedIndependentTablesEndEqualToTheRoot() throws Exception {
        pair.schema("CREATE TABLE xa (id int PRIMARY KEY, v text)",
                "CREATE TABLE xb (id int PRIMARY KEY, n int NOT NULL)",
                "CREATE TABLE xc (k text PRIMARY KEY, payload text)");
        pair.upstream("CREATE PUBLICATION xabc FOR TABLE xa, xb, xc");
        try (RelayRunner relay = relay("xabc")) {
            StringBuilder txn = new StringBuilder("BEGIN;");
            for (int i = 1; i <= 60; i++) {
                txn.append("INSERT INTO xa VALUES (").append(i).append(", 'a").append(i).append("');")
                        .append("INSERT INTO xb VALUES (").append(i).append(", ").append(i).append(");")
                        .append("INSERT INTO xc VALUES ('k").append(i).append("', repeat('p', ").append(i).append("));")
                        .append("UPDATE xa SET v = v || '!' WHERE id = ").append(i - 1).append(';');
                if (i % 3 == 0) {
                    txn.append("DELETE FROM xb WHERE id = ").append(i - 2).append(';');
                }
                if (i % 5 == 0) {
                    txn.append("UPDATE xa SET id = id + 1000 WHERE id = ").append(i - 3).append(';');
                }
            }
            pair.upstream(txn.append("COMMIT").toString());
            assertReplicated(pair, "SELECT id, v FROM xa ORDER BY id", CATCH_UP);
            assertReplicated(pair, "SELECT id, n FROM xb ORDER BY id", CATCH_UP);
            assertReplicated(pair, "SELECT k, payload FROM xc ORDER BY k", CATCH_UP);
            assertEquals(List.of(List.of("60", "1")), pair.downstreamRows("SELECT count(*), count(DISTINCT cmin::text) FROM xc"),
                    "the 60 interleaved inserts of xc went downstream as one statement");
        }
        // A backlog of small interleaved transactions, applied as one catch-up group.
        for (int i = 1; i <= 40; i++) {
            pair.upstream("BEGIN;"
                    + "UPDATE xb SET n = n + " + i + " WHERE id = " + (60 - i % 7) + ";"
                    + "INSERT INTO xc VALUES ('t" + i + "', 'x');"
                    + "UPDATE xa SET v = 'txn " + i + "' WHERE id = " + (30 + i % 11) + ";"
                    + "DELETE FROM xc WHERE k = 'k" + i + "';"
                    + "UPDATE xc SET k = 'moved " + i + "' WHERE k = 't" + (i - 1) + "';"
                    + "COMMIT");
        }
        try (RelayRunner relay = relay("xabc")) {
            assertReplicated(pair, "SELECT id, v FROM xa ORDER BY id", CATCH_UP);
            assertReplicated(pair, "SELECT id, n FROM xb ORDER BY id", CATCH_UP);
            assertReplicated(pair, "SELECT k, payload FROM xc ORDER BY k", CATCH_UP);
        }
    }

    /**
     * A parent/child pair linked by a foreign key and a table with a trigger, interleaved with an
     * independent table. The child table appears first in the transaction, so sending table by
     * table would insert child 2 before parent 2 (a foreign key violation) and delete parent 2
     * before child 2. The trigger records how many rows of the independent table it sees: the
     * same counts as at the root only if every earlier row went before it and no later one did.
     */
    @Test
    void foreignKeyAndTriggerTablesKeepTheirExactPosition() throws Exception {
        pair.schema("CREATE TABLE fk_parent (id int PRIMARY KEY, v text)",
                "CREATE TABLE fk_child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES fk_parent, note text)",
                "CREATE TABLE plain (id int PRIMARY KEY)",
                "CREATE TABLE watched (id int PRIMARY KEY)",
                "CREATE TABLE watched_audit (watched_id int PRIMARY KEY, plain_rows bigint)",
                "CREATE FUNCTION audit_watched() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                        + "INSERT INTO watched_audit VALUES (NEW.id, (SELECT count(*) FROM plain)); RETURN NEW; END $$",
                "CREATE TRIGGER audit AFTER INSERT ON watched FOR EACH ROW EXECUTE FUNCTION audit_watched()");
        pair.upstream("CREATE PUBLICATION linked FOR TABLE fk_parent, fk_child, plain, watched",
                "INSERT INTO fk_parent VALUES (1, 'one')", "INSERT INTO fk_child VALUES (1, 1, 'first')");
        pair.downstream("INSERT INTO fk_parent VALUES (1, 'one')", "INSERT INTO fk_child VALUES (1, 1, 'first')");
        try (RelayRunner relay = relay("linked")) {
            pair.upstream("BEGIN;"
                    + "UPDATE fk_child SET note = 'touched' WHERE id = 1;"
                    + "INSERT INTO plain VALUES (1);"
                    + "INSERT INTO fk_parent VALUES (2, 'two');"
                    + "INSERT INTO plain VALUES (2);"
                    + "INSERT INTO fk_child VALUES (2, 2, 'child of two');"
                    + "INSERT INTO watched VALUES (1);"
                    + "INSERT INTO plain VALUES (3);"
                    + "DELETE FROM fk_child WHERE id = 2;"
                    + "INSERT INTO plain VALUES (4);"
                    + "DELETE FROM fk_parent WHERE id = 2;"
                    + "INSERT INTO watched VALUES (2);"
                    + "INSERT INTO fk_parent VALUES (3, 'three');"
                    + "INSERT INTO plain VALUES (5), (6);"
                    + "INSERT INTO fk_child VALUES (3, 3, 'child of three');"
                    + "INSERT INTO watched VALUES (3);"
                    + "COMMIT");
            assertReplicated(pair, "SELECT id, v FROM fk_parent ORDER BY id", CATCH_UP);
            assertReplicated(pair, "SELECT id, parent_id, note FROM fk_child ORDER BY id", CATCH_UP);
            assertReplicated(pair, "SELECT id FROM plain ORDER BY id", CATCH_UP);
            assertReplicated(pair, "SELECT watched_id, plain_rows FROM watched_audit ORDER BY watched_id", CATCH_UP);
            assertEquals(List.of(List.of("1", "2"), List.of("2", "4"), List.of("3", "6")),
                    pair.downstreamRows("SELECT watched_id, plain_rows FROM watched_audit ORDER BY watched_id"));
        }
    }

    /**
     * Hot rows updated by every transaction of a catch-up backlog, as pgbench's branches: repeated
     * UPDATEs of one row inside a group fold into one statement, while a delete and re-insert or a
     * key change of a row keeps its place among them. A table with a second unique constraint
     * never folds: there a value passes from row to row, and folding the first row's two UPDATEs
     * into one would collide with the other row. The downstream ends equal to the root, with far
     * fewer row versions written than the root wrote.
     */
    @Test
    void repeatedUpdatesOfOneRowFoldAndEverythingElseKeepsItsPlace() throws Exception {
        pair.schema("CREATE TABLE hot (id int PRIMARY KEY, n bigint NOT NULL, note text)",
                "CREATE TABLE hot_log (id int PRIMARY KEY, v text)",
                "CREATE TABLE seats (id int PRIMARY KEY, holder text NOT NULL UNIQUE)");
        for (String side : List.of("upstream", "downstream")) {
            String[] rows = {"INSERT INTO hot SELECT g, 0, 'start' FROM generate_series(1, 5) g",
                    "INSERT INTO seats VALUES (1, 'a'), (2, 'b')"};
            if (side.equals("upstream")) {
                pair.upstream(rows);
            } else {
                pair.downstream(rows);
            }
        }
        pair.upstream("CREATE PUBLICATION folding FOR TABLE hot, hot_log, seats");
        try (RelayRunner relay = relay("folding")) {
            pair.upstream("INSERT INTO hot_log VALUES (0, 'slot created')");
            assertReplicated(pair, "SELECT id FROM hot_log", CATCH_UP);
        }
        int transactions = 300;
        String seat1 = "a";
        String seat2 = "b";
        for (int i = 1; i <= transactions; i++) {
            StringBuilder txn = new StringBuilder("BEGIN;")
                    .append("INSERT INTO hot_log VALUES (").append(i).append(", 'txn ").append(i).append("');")
                    .append("UPDATE hot SET n = n + ").append(i).append(" WHERE id = ").append(i % 5 + 1).append(';')
                    .append("UPDATE hot SET note = 'txn ").append(i).append("' WHERE id = 1;");
            if (i % 50 == 0) {
                txn.append("DELETE FROM hot WHERE id = 3;").append("INSERT INTO hot VALUES (3, ").append(i).append(", 'reborn');");
            }
            if (i % 70 == 0) {
                txn.append("UPDATE hot SET id = 102 WHERE id = 2;").append("UPDATE hot SET n = n * 2 WHERE id = 102;")
                        .append("UPDATE hot SET id = 2 WHERE id = 102;");
            }
            if (i % 10 == 0) {
                // The two seats swap holders through a third value. In order no two rows ever hold
                // one value; seat 1's two UPDATEs folded into the first would take seat 2's holder.
                String one = seat1;
                seat1 = seat2;
                seat2 = one;
                txn.append("UPDATE seats SET holder = 'swapping' WHERE id = 1;")
                        .append("UPDATE seats SET holder = '").append(seat2).append("' WHERE id = 2;")
                        .append("UPDATE seats SET holder = '").append(seat1).append("' WHERE id = 1;");
            }
            pair.upstream(txn.append("COMMIT").toString());
        }
        try (RelayRunner relay = relay("folding")) {
            assertReplicated(pair, "SELECT id, n, note FROM hot ORDER BY id", CATCH_UP);
            assertReplicated(pair, "SELECT count(*), max(id) FROM hot_log", CATCH_UP);
            assertReplicated(pair, "SELECT id, holder FROM seats ORDER BY id", CATCH_UP);
            assertFalse(relay.hasExited(), "the relay applied everything: " + relay.failure());
        }
        // Statistics reach pg_stat per backend, every table at once: once the log's inserts show,
        // the hot table's updates of the same backend do too.
        long deadline = System.nanoTime() + CATCH_UP.toNanos();
        while (Long.parseLong(stat("n_tup_ins", "hot_log")) < transactions + 1) {
            assertTrue(System.nanoTime() < deadline, "downstream statistics never showed the log's inserts");
            Thread.sleep(200);
        }
        long upstreamUpdates = 2L * transactions + 3 * (transactions / 70);
        long downstreamUpdates = Long.parseLong(stat("n_tup_upd", "hot"));
        assertTrue(downstreamUpdates < upstreamUpdates / 4, "repeated updates of the 5 hot rows folded: " + downstreamUpdates
                + " row versions written downstream for " + upstreamUpdates + " upstream updates");
    }

    private static String stat(String column, String table) throws Exception {
        return pair.downstreamRows("SELECT " + column + " FROM pg_stat_user_tables WHERE relname = '" + table + "'").get(0).get(0);
    }

    /** What the session reads decides what may be held: only tables that nothing links to another. */
    @Test
    void onlyTablesWithoutLinksOrCodeAreIndependent() throws Exception {
        pair.downstream("CREATE TABLE lone (id int PRIMARY KEY)",
                "CREATE TABLE ref_parent (id int PRIMARY KEY)",
                "CREATE TABLE ref_child (id int PRIMARY KEY, p int REFERENCES ref_parent)",
                "CREATE TABLE inh_parent (id int, v text)",
                "CREATE TABLE inh_child (extra text) INHERITS (inh_parent)",
                "CREATE TABLE parted (id int PRIMARY KEY) PARTITION BY RANGE (id)",
                "CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100)",
                "CREATE TABLE ruled (id int PRIMARY KEY)",
                "CREATE RULE no_delete AS ON DELETE TO ruled DO INSTEAD NOTHING",
                "CREATE TABLE quiet_trigger (id int PRIMARY KEY)",
                "CREATE FUNCTION nothing() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
                "CREATE TRIGGER off BEFORE INSERT ON quiet_trigger FOR EACH ROW EXECUTE FUNCTION nothing()",
                "ALTER TABLE quiet_trigger DISABLE TRIGGER off");
        DownstreamConstraints constraints;
        try (java.sql.Connection connection = pair.downstream.connect(ReplicationPair.DB)) {
            constraints = DownstreamConstraints.read(connection);
        }
        for (String independent : List.of("lone", "quiet_trigger")) {
            assertTrue(constraints.table(Sql.qualified("public", independent)).isIndependent(), independent);
        }
        for (String linked : List.of("ref_parent", "ref_child", "inh_parent", "inh_child", "parted", "parted_1", "ruled",
                "created_later")) {
            assertTrue(!constraints.table(Sql.qualified("public", linked)).isIndependent(), linked);
        }
    }

    /**
     * A row refused downstream (a CHECK constraint the root lacks) in the middle of an interleaved
     * catch-up group, its table's run spanning the transactions around it: the relay stops naming
     * table, key, SQLSTATE and the LSN of exactly that transaction, the checkpoint stays before
     * it, nothing of it is downstream, and once the constraint is dropped a restart converges.
     */
    @Test
    void aRefusedRowInAnInterleavedGroupIsNamedExactly() throws Exception {
        pair.schema("CREATE TABLE ga (id int PRIMARY KEY, qty int NOT NULL)",
                "CREATE TABLE gb (id int PRIMARY KEY, note text)",
                "CREATE TABLE gc (id int PRIMARY KEY)");
        pair.upstream("CREATE PUBLICATION guarded_mix FOR TABLE ga, gb, gc");
        pair.downstream("ALTER TABLE ga ADD CONSTRAINT qty_below_100 CHECK (qty < 100)");
        try (RelayRunner relay = relay("guarded_mix")) {
            pair.upstream("INSERT INTO gb VALUES (0, 'baseline')");
            assertReplicated(pair, "SELECT id, note FROM gb ORDER BY id", CATCH_UP);
        }
        List<List<String>> lastGood = checkpoint("guarded_mix");
        for (int i = 1; i <= 5; i++) {
            pair.upstream(interleaved(i, 10 * i));
        }
        long beforeRefused = currentLsn();
        pair.upstream(interleaved(6, 500)); // ga (6, 500) is refused; gb and gc rows come before and after it
        long afterRefused = currentLsn();
        for (int i = 7; i <= 9; i++) {
            pair.upstream(interleaved(i, 10 * i));
        }
        try (RelayRunner relay = starting("guarded_mix")) {
            assertEquals(1, relay.awaitExit(CATCH_UP), "exit code 1 when the downstream refuses a row");
            String failure = relay.failure();
            assertNotNull(failure);
            assertTrue(failure.contains("\"public\".\"ga\"") && failure.contains("(id)=(6)") && failure.contains("23514"),
                    "names table, key and SQLSTATE: " + failure);
            Matcher lsn = LSN.matcher(failure);
            assertTrue(lsn.find(), "names an LSN: " + failure);
            long named = LogSequenceNumber.valueOf(lsn.group(1)).asLong();
            assertTrue(Long.compareUnsigned(beforeRefused, named) < 0 && Long.compareUnsigned(named, afterRefused) <= 0,
                    "the LSN named is the refused transaction's: " + failure);
        }
        List<List<String>> stopped = checkpoint("guarded_mix");
        // Transactions 1 to 5 may have committed as a group of their own before 6 arrived.
        assertTrue(stopped.equals(lastGood) || pair.downstreamRows("SELECT 1 FROM ga WHERE id = 1").size() == 1,
                "the checkpoint moved past transactions that are not in the downstream");
        assertTrue(Long.compareUnsigned(LogSequenceNumber.valueOf(stopped.get(0).get(0)).asLong(), beforeRefused) <= 0,
                "checkpoint " + stopped + " must be before the refused transaction");
        assertEquals(List.of(), pair.downstreamRows("SELECT id FROM gb WHERE id >= 6 UNION ALL SELECT id FROM gc WHERE id >= 6"),
                "nothing of the refused transaction or after it");

        pair.downstream("ALTER TABLE ga DROP CONSTRAINT qty_below_100");
        try (RelayRunner relay = relay("guarded_mix")) {
            assertReplicated(pair, "SELECT id, qty FROM ga ORDER BY id", CATCH_UP);
            assertReplicated(pair, "SELECT id, note FROM gb ORDER BY id", CATCH_UP);
            assertReplicated(pair, "SELECT id FROM gc ORDER BY id", CATCH_UP);
        }
    }

    /** One transaction whose ga row sits between rows of gb and gc. */
    private static String interleaved(int id, int qty) {
        return "BEGIN;"
                + "INSERT INTO gb VALUES (" + id + ", 'before');"
                + "INSERT INTO gc VALUES (" + id + ");"
                + "INSERT INTO ga VALUES (" + id + ", " + qty + ");"
                + "UPDATE gb SET note = 'after' WHERE id = " + id + ";"
                + "INSERT INTO gc VALUES (" + (100 + id) + ");"
                + "COMMIT";
    }

    private static RelayRunner relay(String name) throws InterruptedException {
        return RelayRunner.streaming(pair, name, START);
    }

    /** A relay that may stop before it is seen streaming: one that meets a refused row at once. */
    private static RelayRunner starting(String name) {
        return RelayRunner.start(pair, name);
    }

    private static long currentLsn() throws Exception {
        return LogSequenceNumber.valueOf(pair.upstreamRows("SELECT pg_current_wal_lsn()::text").get(0).get(0)).asLong();
    }

    private static List<List<String>> checkpoint(String relayName) throws Exception {
        return pair.downstreamRows("SELECT end_lsn::text, commit_time::text FROM pgrelay.checkpoint WHERE relay_name = '"
                + relayName + "'");
    }
}
