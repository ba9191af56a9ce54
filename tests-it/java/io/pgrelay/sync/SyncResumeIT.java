package io.pgrelay.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.Eventually;
import io.pgrelay.it.PgCluster;
import io.pgrelay.it.ReplicationPair;
import io.pgrelay.process.RelayProcess;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Per-table resume of an initial copy: a relay process is killed ({@code kill -9}) once the
 * largest table is copied and while the second is being copied (one table at a time). The next
 * start keeps the done table (same file node: it was never emptied, same row in
 * {@code pgrelay.sync_table}), copies the others under a newer snapshot, and the root writes to
 * every table all along, also between the slot's consistent point and the newer snapshot: the
 * apply must skip those transactions for the re-copied tables, or the insert-only table without
 * a key would hold them twice (and the keyed ones would conflict).
 */
class SyncResumeIT {

    private static final String DB = SyncScenario.DB;
    private static final String PUBLICATION = "resume_pub";
    private static final String RELAY = "sync_resume";
    /** Table → ORDER BY of its fingerprint. */
    private static final Map<String, String> TABLES = Map.of(
            "first_big", "id", "second_big", "id", "small", "id", "events", "seq, v");

    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void killedCopyResumesPerTableAndEndsEqualWithoutDoubles() throws Exception {
        Path runDir = RelayProcess.jar().getParent().resolve("relay-processes")
                .resolve("SyncResumeIT-" + System.currentTimeMillis());
        try (ReplicationPair pair = ReplicationPair.start("sync-resume")) {
            pair.schema(
                    "CREATE TABLE first_big (id bigint PRIMARY KEY, payload text, n int)",
                    "CREATE TABLE second_big (id bigint PRIMARY KEY, payload text, n int)",
                    "CREATE TABLE small (id int PRIMARY KEY, n int)",
                    "CREATE TABLE events (seq bigint, v text)"); // insert-only, no key: doubles would show
            pair.upstream("CREATE PUBLICATION " + PUBLICATION + " FOR TABLE first_big, second_big, small",
                    "CREATE PUBLICATION resume_inserts FOR TABLE events WITH (publish = 'insert')",
                    "INSERT INTO first_big SELECT g, md5(g::text) || md5((g + 1)::text), g FROM generate_series(1, 600000) g",
                    "INSERT INTO second_big SELECT g, md5(g::text) || md5((g + 1)::text), g FROM generate_series(1, 500000) g",
                    "INSERT INTO small SELECT g, g FROM generate_series(1, 1000) g",
                    "INSERT INTO events SELECT g, 'before' FROM generate_series(1, 500) g",
                    "ANALYZE");
            Properties config = pair.properties(RELAY, PUBLICATION + ",resume_inserts");
            config.setProperty("sync.initial", "true");
            config.setProperty("sync.parallel", "1"); // largest first, one at a time

            try (Workload workload = new Workload(pair.upstream)) {
                String fileNode;
                String keptRow;
                try (RelayProcess first = RelayProcess.start("relay-1", runDir, config)) {
                    assertTrue(first.awaitLog("copied public.first_big", Duration.ofSeconds(120)), first.log());
                    first.kill9();
                }
                List<List<String>> states = pair.downstreamRows(
                        "SELECT table_name, state FROM pgrelay.sync_table ORDER BY table_name");
                assertEquals(List.of("events", "pending"), states.get(0), states.toString());
                assertEquals(List.of("first_big", "done"), states.get(1), states.toString());
                assertEquals(List.of(List.of("0")), pair.downstreamRows("SELECT count(*) FROM pgrelay.checkpoint"));
                String notDone = pair.downstreamRows("SELECT count(*) FROM pgrelay.sync_table WHERE state <> 'done'")
                        .get(0).get(0);
                String consistentPoint = pair.downstreamRows("SELECT consistent_point FROM pgrelay.sync_run").get(0).get(0);
                fileNode = pair.downstreamRows("SELECT pg_relation_filenode('first_big')").get(0).get(0);
                keptRow = pair.downstreamRows("SELECT rows_copied, updated_at, sync_lsn FROM pgrelay.sync_table "
                        + "WHERE table_name = 'first_big'").toString();
                long before = workload.transactions();
                Thread.sleep(1500); // the root keeps writing to every table while no relay runs: X < commits < Y
                assertTrue(workload.transactions() > before, "the workload writes while the relay is down");

                try (RelayProcess second = RelayProcess.start("relay-2", runDir, config)) {
                    assertTrue(second.awaitLog("streaming slot", Duration.ofSeconds(180)), second.log());
                    assertTrue(second.log().contains("resuming it per table"), second.log());
                    assertFalse(second.log().contains("copied public.first_big"), second.log());
                    assertEquals(fileNode, pair.downstreamRows("SELECT pg_relation_filenode('first_big')").get(0).get(0),
                            "first_big was emptied again");
                    assertEquals(keptRow, pair.downstreamRows("SELECT rows_copied, updated_at, sync_lsn FROM "
                            + "pgrelay.sync_table WHERE table_name = 'first_big'").toString());
                    // Every re-copied table was read under a snapshot later than the slot's consistent point.
                    assertEquals(List.of(List.of(notDone)), pair.downstreamRows("SELECT count(*) FROM pgrelay.sync_table "
                            + "WHERE state = 'done' AND sync_lsn > '" + consistentPoint + "'::pg_lsn"));
                    assertEquals(List.of(List.of(consistentPoint)),
                            pair.downstreamRows("SELECT consistent_point FROM pgrelay.sync_run WHERE state = 'done'"));
                    Thread.sleep(2000);
                    workload.close();
                    for (String table : TABLES.keySet()) {
                        String sql = "SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY "
                                + TABLES.get(table) + "), '')) FROM " + table + " x";
                        Eventually.assertSameRows(() -> pair.upstream.query(DB, sql), () -> pair.downstream.query(DB, sql),
                                Duration.ofSeconds(120), table);
                    }
                    assertEquals(List.of(List.of("0")), pair.downstreamRows(
                            "SELECT count(*) FROM (SELECT seq, v FROM events GROUP BY seq, v HAVING count(*) > 1) d"));
                    assertEquals(List.of(List.of(RELAY)), pair.upstreamRows("SELECT slot_name FROM pg_replication_slots"));
                    second.term();
                    assertEquals(0, second.waitFor(Duration.ofSeconds(30)), second.log());
                }
                System.out.println("SyncResumeIT: " + workload.transactions() + " root transactions, kept "
                        + keptRow + ", consistent point " + consistentPoint);
            }
        }
    }

    /** One transaction after another on the root, each writing to all four tables; close rethrows its failure. */
    private static final class Workload implements AutoCloseable {
        private final Thread thread;
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private final AtomicLong transactions = new AtomicLong();
        private volatile boolean stop;

        Workload(PgCluster root) {
            thread = new Thread(() -> {
                try (Connection c = root.connect(DB); Statement s = c.createStatement()) {
                    c.setAutoCommit(false);
                    Random random = new Random(7);
                    long next = 10_000_000;
                    while (!stop) {
                        next++;
                        s.execute("INSERT INTO events VALUES (" + next + ", 'w')");
                        s.execute("INSERT INTO first_big VALUES (" + next + ", 'new', 0)");
                        s.execute("UPDATE first_big SET n = n + 1 WHERE id = " + (1 + random.nextInt(600_000)));
                        s.execute("INSERT INTO second_big VALUES (" + next + ", 'new', 0)");
                        s.execute("UPDATE second_big SET n = n + 1 WHERE id = " + (1 + random.nextInt(500_000)));
                        s.execute("DELETE FROM second_big WHERE id = " + (1 + random.nextInt(500_000)));
                        s.execute("UPDATE small SET n = n + 1 WHERE id = " + (1 + random.nextInt(1000)));
                        c.commit();
                        transactions.incrementAndGet();
                        Thread.sleep(2);
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            }, "resume-workload");
            thread.setDaemon(true);
            thread.start();
        }

        long transactions() {
            return transactions.get();
        }

        @Override
        public void close() throws Exception {
            stop = true;
            thread.join(30_000);
            if (failure.get() != null) {
                throw new AssertionError("the workload failed", failure.get());
            }
        }
    }
}
