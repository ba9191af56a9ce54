package io.pgrelay.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.ParallelApply;
import io.pgrelay.it.RelayRunner;
import io.pgrelay.it.ReplicationPair;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Parallel apply when its conflict keys miss a dependency: a unique index created on the
 * downstream after the relay's session started (the session read the catalog without it), so
 * transactions that pass one unique value from row to row look independent. Applied out of
 * order, a later one either hits a unique violation (the value is still on the earlier row) or
 * takes the value first and makes the earlier one wait for its lock while it waits for its turn
 * to commit, a deadlock PostgreSQL cannot see. The relay must end equal to the root anyway,
 * without stopping: the refused unit applies again after the earlier ones, and the dispatcher
 * makes a lock-holding later unit yield.
 */
@Timeout(180)
class ParallelApplyHiddenDependencyIT {

    private static final int ROWS = 40;
    private static final int TRANSACTIONS = 3000;

    @Test
    void aUniqueValuePassedFromRowToRowAppliesInUpstreamOrder() throws Exception {
        long seed = Long.getLong("pgrelay.it.seed", System.nanoTime());
        System.out.println("ParallelApplyHiddenDependencyIT: seed " + seed);
        Random random = new Random(seed);
        try (ReplicationPair pair = ReplicationPair.start("hidden")) {
            pair.schema("CREATE TABLE token (id int PRIMARY KEY, holder int)",
                    "INSERT INTO token SELECT g, NULL FROM generate_series(1, " + ROWS + ") g");
            pair.upstream("CREATE PUBLICATION hidden FOR TABLE token",
                    "CREATE UNIQUE INDEX token_holder ON token (holder)");
            Properties properties = ParallelApply.configure(pair.properties("hidden", "hidden"), ParallelApply.workers());
            properties.setProperty("apply.group-changes", "4"); // small units: many of them in flight at once
            properties.setProperty("apply.batch-size", "4");
            // A lane deadlock left to the socket timeout would take this long to break: catching
            // up well within it shows that the yield broke it.
            properties.setProperty("downstream.timeout", "120s");
            try (RelayRunner relay = RelayRunner.start(pair.config(properties))) {
                relay.awaitStreaming(Duration.ofSeconds(30));
                pair.downstream("CREATE UNIQUE INDEX token_holder ON token (holder)");
                try (Connection root = pair.upstream.connect(ReplicationPair.DB);
                     Statement statement = root.createStatement()) {
                    // Holder values 1..5 wander between rows: free one row's value, give it to another.
                    for (int i = 0; i < TRANSACTIONS; i++) {
                        int value = 1 + random.nextInt(5);
                        int row = 1 + random.nextInt(ROWS);
                        statement.execute("UPDATE token SET holder = NULL WHERE holder = " + value);
                        statement.execute("UPDATE token SET holder = " + value + " WHERE id = " + row);
                    }
                }
                String content = "SELECT string_agg(id || ':' || coalesce(holder::text, '-'), ',' ORDER BY id) FROM token";
                List<List<String>> expected = pair.upstreamRows(content);
                long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
                List<List<String>> actual = pair.downstreamRows(content);
                while (!expected.equals(actual) && System.nanoTime() < deadline && !relay.hasExited()) {
                    Thread.sleep(200);
                    actual = pair.downstreamRows(content);
                }
                assertFalse(relay.hasExited(), "the relay stopped: " + relay.failure());
                assertEquals(expected, actual, "token rows after catch-up");
                assertTrue(relay.failure() == null, "relay failure: " + relay.failure());
            }
        }
    }
}
