package io.pgrelay.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.Eventually;
import io.pgrelay.it.RelayRunner;
import io.pgrelay.it.ReplicationPair;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A stop during the copy exits cleanly and leaves no slot holding WAL on the root; the next start
 * copies again. Publication row filters and column lists (PostgreSQL 15) shape the copy as they
 * shape the stream.
 */
class InitialSyncStopAndFilterIT {

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void aStopDuringTheCopyDropsTheSlotAndTheNextStartCopiesAgain() throws Exception {
        try (ReplicationPair pair = ReplicationPair.start("isync-stop")) {
            pair.schema("CREATE TABLE big (id bigint PRIMARY KEY, payload text)");
            pair.upstream("CREATE PUBLICATION p FOR TABLE big",
                    "INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 1000000) g");
            Properties config = pair.properties("isync_stop", "p");
            config.setProperty("sync.initial", "true");
            String slots = "SELECT count(*) FROM pg_replication_slots";

            try (RelayRunner relay = RelayRunner.start(pair.config(config))) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (pair.upstreamRows(slots).equals(List.of(List.of("0"))) && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertEquals(List.of(List.of("1")), pair.upstreamRows(slots), "the copy did not start");
            } // close(): stop requested mid-copy, and the relay must exit 0
            assertEquals(List.of(List.of("copying")), pair.downstreamRows("SELECT state FROM pgrelay.sync_run"));
            assertEquals(List.of(List.of("0")), pair.upstreamRows(slots));

            try (RelayRunner relay = RelayRunner.start(pair.config(config))) {
                relay.awaitStreaming(Duration.ofMinutes(2));
                pair.upstream("INSERT INTO big VALUES (0, 'streamed')");
                String fingerprint = "SELECT count(*), md5(string_agg(payload, ',' ORDER BY id)) FROM big";
                Eventually.assertReplicated(pair, fingerprint, Duration.ofSeconds(60));
            }
        }
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void rowFiltersAndColumnListsShapeTheCopy() throws Exception {
        try (ReplicationPair pair = ReplicationPair.start("isync-filter")) {
            pair.schema("CREATE TABLE people (id int PRIMARY KEY, name text, secret text)",
                    "CREATE TABLE notes (id int PRIMARY KEY, body text)");
            pair.upstream("CREATE PUBLICATION p FOR TABLE people (id, name) WHERE (id > 10), notes",
                    "CREATE PUBLICATION q FOR TABLE notes WHERE (id < 3)",
                    "INSERT INTO people SELECT g, 'n' || g, 's' || g FROM generate_series(1, 20) g",
                    "INSERT INTO notes SELECT g, 'b' || g FROM generate_series(1, 5) g");
            Properties config = pair.properties("isync_filter", "p,q");
            config.setProperty("sync.initial", "true");
            try (RelayRunner relay = RelayRunner.start(pair.config(config))) {
                relay.awaitStreaming(Duration.ofSeconds(60));
                pair.upstream("INSERT INTO people VALUES (21, 'n21', 's21'), (-1, 'filtered out', 's')");
                Eventually.assertSameRows(
                        () -> pair.upstreamRows("SELECT id, name, NULL FROM people WHERE id > 10 ORDER BY id"),
                        () -> pair.downstreamRows("SELECT id, name, secret FROM people ORDER BY id"),
                        Duration.ofSeconds(30), "people: rows id > 10, columns id and name");
            }
            // notes is in p without a filter: p's "all rows" wins over q's filter, as in PostgreSQL.
            assertEquals(pair.upstreamRows("SELECT * FROM notes ORDER BY id"), pair.downstreamRows("SELECT * FROM notes ORDER BY id"));
            assertTrue(pair.downstreamRows("SELECT count(*) FROM people").get(0).get(0).equals("11"));
        }
    }
}
