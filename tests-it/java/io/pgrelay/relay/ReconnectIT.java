package io.pgrelay.relay;

import static io.pgrelay.it.Eventually.assertReplicated;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.pgrelay.it.RelayRunner;
import io.pgrelay.it.ReplicationPair;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Connection loss on either side ends the session; the relay reconnects with backoff and
 * resumes from the downstream checkpoint: nothing lost, nothing applied twice.
 */
@Timeout(180)
class ReconnectIT {

    private static final Duration CATCH_UP = Duration.ofSeconds(60);
    private static ReplicationPair pair;

    @BeforeAll
    static void startClusters() throws Exception {
        pair = ReplicationPair.start("reconnect");
        pair.schema("CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL)",
                "INSERT INTO counters SELECT g, 0 FROM generate_series(1, 10) g",
                "CREATE TABLE events (id bigint PRIMARY KEY)");
        pair.upstream("CREATE PUBLICATION reconnect FOR TABLE counters, events");
    }

    @AfterAll
    static void stopClusters() {
        if (pair != null) {
            pair.close();
        }
    }

    /** Increments counters and appends gapless events until stopped; survives server restarts. */
    private static final class Workload implements AutoCloseable {
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final AtomicLong nextEvent = new AtomicLong(1);
        private final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        private final Thread thread = new Thread(this::loop, "workload");

        Workload() {
            thread.start();
        }

        private void loop() {
            while (running.get()) {
                try (Connection c = pair.upstream.connect(ReplicationPair.DB)) {
                    c.setAutoCommit(false);
                    PreparedStatement bump = c.prepareStatement("UPDATE counters SET n = n + 1 WHERE id = ?");
                    PreparedStatement event = c.prepareStatement("INSERT INTO events VALUES (?)");
                    while (running.get()) {
                        long id = nextEvent.get();
                        bump.setInt(1, (int) (id % 10) + 1);
                        bump.executeUpdate();
                        event.setLong(1, id);
                        event.executeUpdate();
                        c.commit();
                        nextEvent.incrementAndGet();
                    }
                } catch (SQLException e) {
                    // The upstream restarts under us on purpose: retry on a new connection.
                    sleep(100);
                } catch (RuntimeException e) {
                    errors.add(e);
                    return;
                }
            }
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            thread.join(10_000);
            assertFalse(thread.isAlive(), "workload did not stop");
            assertEquals(List.of(), List.copyOf(errors), "workload failed");
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void survivesUpstreamAndDownstreamRestartsAndKilledConnections() throws Exception {
        try (RelayRunner relay = RelayRunner.start(pair.config(pair.properties("reconnect", "reconnect")))) {
            relay.awaitStreaming(Duration.ofSeconds(30));
            try (Workload workload = new Workload()) {
                sleep(1500);
                pair.upstream.restart();
                sleep(1500);
                pair.downstream.restart();
                sleep(1500);
                pair.upstream("SELECT pg_terminate_backend(pid) FROM pg_stat_replication");
                sleep(1000);
                pair.downstream("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        + "WHERE application_name LIKE 'pgrelay:%'");
                sleep(1500);
                pair.downstream.crash();
                pair.downstream.start();
                sleep(1500);
            }
            assertFalse(relay.hasExited(), "relay must reconnect, not stop: " + relay.failure());
            assertReplicated(pair, "SELECT id, n FROM counters ORDER BY id", CATCH_UP);
            assertReplicated(pair, "SELECT count(*), min(id), max(id), sum(id) FROM events", CATCH_UP);
            List<List<String>> events = pair.downstreamRows("SELECT count(*), max(id) FROM events");
            assertEquals(events.get(0).get(0), events.get(0).get(1), "events are gapless and not doubled");
        }
    }
}
