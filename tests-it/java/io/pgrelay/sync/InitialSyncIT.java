package io.pgrelay.sync;

import static io.pgrelay.sync.SyncScenario.DB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.RelayRunner;
import io.pgrelay.it.ReplicationPair;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code sync.initial=true} with {@code schema.create=true} from a PostgreSQL root into an empty
 * downstream database (the tables are created, then copied) while the root
 * keeps writing: every table equal afterwards (the copy and the stream meet at the slot's
 * consistent point), sequences copied, a table holding rows refused unless sync.truncate.
 */
class InitialSyncIT {

    private static final int BIG_ROWS = Integer.getInteger("pgrelay.it.sync.bigRows", 1_000_000);

    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void copiesEveryTableUnderTheSnapshotAndStreamsOnWithoutGapOrDouble() throws Exception {
        try (ReplicationPair pair = ReplicationPair.start("isync")) {
            // The downstream starts empty: no tables, no types. schema.create makes them from the root's catalog.
            pair.upstream(SyncScenario.schema());
            pair.upstream(SyncScenario.publication());
            SyncScenario.fill(pair.upstream, BIG_ROWS);
            Properties config = pair.properties("isync", SyncScenario.PUBLICATION);
            config.setProperty("sync.initial", "true");
            config.setProperty("sync.parallel", "3");
            config.setProperty("schema.create", "true");

            long copyStarted = System.nanoTime();
            try (SyncScenario.Workload workload = new SyncScenario.Workload(pair.upstream, 11);
                 RelayRunner relay = RelayRunner.start(pair.config(config))) {
                relay.awaitStreaming(Duration.ofMinutes(4));
                long copySeconds = (System.nanoTime() - copyStarted) / 1_000_000_000L;
                long duringCopy = workload.transactions();
                Thread.sleep(2000); // and some more writes while streaming
                workload.close();
                assertTrue(duringCopy > 10, "the workload wrote only " + duringCopy + " transactions during the copy");
                SyncScenario.assertEqualEventually(pair.upstream, pair.downstream, Duration.ofSeconds(120));
                SyncScenario.assertSyncDone(pair.downstream, "isync");
                System.out.println("InitialSyncIT: copy and catch-up of " + BIG_ROWS + " big rows in about " + copySeconds
                        + " s; " + duringCopy + " root transactions during the copy, " + workload.transactions() + " in all");
                System.out.println("InitialSyncIT: " + pair.downstream.query(DB,
                        "SELECT table_name, rows_copied, bytes_copied FROM pgrelay.sync_table ORDER BY 1"));
            }
            // Sequences: copied at the end of the sync, so at least the 1000 filled rows per table.
            List<List<String>> sequence = pair.downstream.query(DB, "SELECT last_value >= 1000, is_called FROM t01_id_seq");
            assertEquals(List.of(List.of("t", "t")), sequence);
        }
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void aTableHoldingRowsIsAnErrorUnlessTruncateIsSet() throws Exception {
        try (ReplicationPair pair = ReplicationPair.start("isync-rows")) {
            pair.schema("CREATE TABLE a (id int PRIMARY KEY, v text)", "CREATE TABLE b (id int PRIMARY KEY, v text)");
            pair.upstream("CREATE PUBLICATION p FOR TABLE a, b",
                    "INSERT INTO a SELECT g, 'up' FROM generate_series(1, 100) g", "INSERT INTO b VALUES (1, 'up')");
            pair.downstream("INSERT INTO b VALUES (1, 'stale'), (2, 'stale')");
            Properties config = pair.properties("isync_rows", "p");
            config.setProperty("sync.initial", "true");

            try (RelayRunner relay = RelayRunner.start(pair.config(config))) {
                assertEquals(1, relay.awaitExit(Duration.ofSeconds(60)));
                assertTrue(relay.failure().contains("downstream table public.b already holds rows")
                        && relay.failure().contains("sync.truncate=true"), relay.failure());
            }
            assertEquals(List.of(List.of("0")), pair.downstreamRows("SELECT count(*) FROM a"));

            config.setProperty("sync.truncate", "true");
            try (RelayRunner relay = RelayRunner.start(pair.config(config))) {
                relay.awaitStreaming(Duration.ofSeconds(60));
                pair.upstream("INSERT INTO b VALUES (3, 'streamed')");
                io.pgrelay.it.Eventually.assertReplicated(pair, "SELECT * FROM a ORDER BY id", Duration.ofSeconds(30));
                io.pgrelay.it.Eventually.assertReplicated(pair, "SELECT * FROM b ORDER BY id", Duration.ofSeconds(30));
            }
        }
    }
}
