package io.pgrelay.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.ReplicationPair;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * DESIGN.md invariant 3: flush feedback never exceeds the durable checkpoint. After a clean stop
 * the upstream slot's {@code confirmed_flush_lsn} must be exactly the downstream checkpoint.
 *
 * <p>The scenario is the one where a client library may "helpfully" acknowledge more: the relay
 * has applied everything it received, then the upstream writes WAL the publication does not
 * cover, and the walsender sends a keepalive with that newer position. pgjdbc's replication
 * stream, unless built with {@code withAutomaticFlush(false)}, then advances its flushed position
 * to the keepalive's position on its own and sends it with the next status update — past the
 * checkpoint. {@code upstream.status-interval=1h} keeps the relay's own idle checkpoint (which
 * would durably move the checkpoint to the same position) out of the picture, so the outcome is
 * deterministic.
 */
class FlushFeedbackIT {

    private static final String SLOT = "flush_ack";

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void cleanStopAcknowledgesExactlyTheCheckpointEvenAfterUnpublishedWal() throws Exception {
        Path runDir = RelayProcess.jar().getParent().resolve("relay-processes")
                .resolve("FlushFeedbackIT-" + System.currentTimeMillis());
        try (ReplicationPair pair = ReplicationPair.start("flush")) {
            pair.schema("CREATE TABLE items (id int PRIMARY KEY)");
            pair.upstream("CREATE TABLE unpublished (id int)", "CREATE PUBLICATION flush_pub FOR TABLE items");
            Properties config = pair.properties(SLOT, "flush_pub");
            config.setProperty("upstream.status-interval", "1h");

            try (RelayProcess relay = RelayProcess.start("relay", runDir, config)) {
                assertTrue(relay.awaitLog("streaming slot", Duration.ofSeconds(30)), "not streaming:\n" + relay.log());
                pair.upstream("INSERT INTO items VALUES (1)");
                assertTrue(relay.await(() -> downstreamItems(pair).equals(List.of(List.of("1"))),
                        Duration.ofSeconds(20)), "row not applied; log:\n" + relay.log());

                // WAL the publication does not cover; wait until the walsender has sent past it
                // (it then sends a keepalive carrying that position), and a little more for the
                // relay to read that keepalive.
                pair.upstream("INSERT INTO unpublished SELECT generate_series(1, 10)");
                String walEnd = pair.upstreamRows("SELECT pg_current_wal_lsn()::text").get(0).get(0);
                assertTrue(relay.await(() -> sentPast(pair, walEnd), Duration.ofSeconds(20)),
                        "walsender did not pass " + walEnd);
                Thread.sleep(500);

                relay.term();
                assertEquals(0, relay.waitFor(Duration.ofSeconds(25)), "exit code after SIGTERM; log:\n" + relay.log());
            }

            String checkpoint = pair.downstreamRows(
                    "SELECT end_lsn::text FROM pgrelay.checkpoint WHERE relay_name = '" + SLOT + "'").get(0).get(0);
            List<List<String>> slot = List.of();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < deadline) {
                slot = pair.upstreamRows("SELECT confirmed_flush_lsn::text, active FROM pg_replication_slots"
                        + " WHERE slot_name = '" + SLOT + "'");
                if (slot.size() == 1 && "f".equals(slot.get(0).get(1))) {
                    break;
                }
                Thread.sleep(100);
            }
            assertEquals(1, slot.size(), "slot " + SLOT);
            assertEquals(checkpoint, slot.get(0).get(0),
                    "upstream slot confirmed_flush_lsn must equal the downstream checkpoint after a clean stop "
                            + "(a larger value means feedback acknowledged WAL the downstream checkpoint does not cover)");
        }
    }

    private static List<List<String>> downstreamItems(ReplicationPair pair) {
        try {
            return pair.downstreamRows("SELECT id FROM items");
        } catch (SQLException e) {
            return List.of();
        }
    }

    private static boolean sentPast(ReplicationPair pair, String lsn) {
        try {
            return pair.upstreamRows("SELECT sent_lsn >= '" + lsn + "'::pg_lsn FROM pg_stat_replication"
                    + " WHERE application_name = 'pgrelay:" + SLOT + "'").equals(List.of(List.of("t")));
        } catch (SQLException e) {
            return false;
        }
    }
}
