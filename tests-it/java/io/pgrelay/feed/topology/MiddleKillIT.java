package io.pgrelay.feed.topology;

import static io.pgrelay.feed.topology.Topology.DB;
import static io.pgrelay.feed.topology.Topology.await;
import static io.pgrelay.feed.topology.Topology.awaitEqual;
import static io.pgrelay.feed.topology.Topology.checkpointCommitTime;
import static io.pgrelay.feed.topology.Topology.feedUrl;
import static io.pgrelay.feed.topology.Topology.freePort;
import static io.pgrelay.feed.topology.Topology.relay;
import static io.pgrelay.feed.topology.Topology.withFeed;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgrelay.feed.topology.Topology.Background;
import io.pgrelay.feed.topology.Topology.Cleanup;
import io.pgrelay.it.PgCluster;
import io.pgrelay.process.RelayProcess;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code kill -9} of the middle of a chain: root → R1 → R2 → R3, every relay an operating-system
 * process applying to its own database. While a counter/event workload runs on the root (single
 * and multi-statement transactions and 2000-increment ones), R2 is killed at seeded random
 * moments and restarted on the same data directory and feed port. R3 reconnects to R2's feed
 * each time; R2 reconnects to R1's.
 *
 * <p>In the end the leaf's database equals the root exactly: every counter increment applied
 * once, the insert-only {@code events} gapless (a doubled insert would stop a relay with
 * {@code apply.conflict=error}); every tier's checkpoint names the same root commit time; no
 * relay logged an ERROR; all stop cleanly on SIGTERM. Replay a schedule with
 * {@code -Dpgrelay.it.seed=N}.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class MiddleKillIT {

    private static final String PUBLICATION = "middle";
    private static final int COUNTERS = 20;
    private static final Duration WORKLOAD = Duration.ofSeconds(20);
    private static final int MIN_KILLS = 3;
    private static final Duration STREAMING = Duration.ofSeconds(45);
    private static final Duration CATCH_UP = Duration.ofSeconds(60);
    private static final Duration SHUTDOWN = Duration.ofSeconds(25);
    private static final String COUNTERS_SQL = "SELECT id, n FROM counters ORDER BY id";
    private static final String EVENTS_SQL = "SELECT count(*), min(id), max(id), sum(id) FROM events";
    /** Contiguous runs of event ids: one row when gapless. */
    private static final String ID_RANGES_SQL = "SELECT min(id), max(id) FROM (SELECT id, id - row_number() OVER "
            + "(ORDER BY id) AS run FROM events) r GROUP BY run ORDER BY 1";
    private static final String[] SCHEMA = {
            "CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL)",
            "CREATE TABLE events (id bigint PRIMARY KEY, counter_id int NOT NULL, at timestamptz DEFAULT now())"};

    @Test
    void leafEqualsTheRootAfterTheMiddleRelayIsKilledRepeatedly() throws Exception {
        long seed = Long.getLong("pgrelay.it.seed", System.nanoTime());
        System.out.println("MiddleKillIT: seed " + seed + " (replay with -Dpgrelay.it.seed=" + seed + ")");
        Random schedule = new Random(seed);
        boolean[] passed = {false};
        long testStart = System.nanoTime();
        List<RelayProcess> all = new ArrayList<>();
        try (Cleanup cleanup = new Cleanup()) {
            Path work = Topology.workDir("MiddleKillIT");
            cleanup.deleteIfPassed(work, () -> passed[0]);
            PgCluster root = cleanup.add(PgCluster.builder("middle-root").start());
            PgCluster down = cleanup.add(PgCluster.builder("middle-down").start());
            root.createDatabase(DB);
            root.execute(DB, SCHEMA);
            root.execute(DB, "INSERT INTO counters SELECT g, 0 FROM generate_series(1, " + COUNTERS + ") g",
                    "CREATE PUBLICATION " + PUBLICATION + " FOR TABLE counters, events");
            for (String db : List.of("d1", "d2", "d3")) {
                down.createDatabase(db);
                down.execute(db, SCHEMA);
                down.execute(db, "INSERT INTO counters SELECT g, 0 FROM generate_series(1, " + COUNTERS + ") g");
            }
            cleanup.add(() -> {
                for (RelayProcess each : all) {
                    each.close();
                }
            });

            int port1 = freePort();
            int port2 = freePort();
            Properties r1Config = withFeed(relay("r1", root.jdbcUrl(DB), root.user(), root.password(), "to_r1",
                    PUBLICATION, down, "d1"), port1, "pw-1", work.resolve("r1-data"));
            Properties r2Config = withFeed(relay("r2", feedUrl(port1), "child", "pw-1", "to_r2", PUBLICATION, down, "d2"),
                    port2, "pw-2", work.resolve("r2-data"));
            Properties r3Config = relay("r3", feedUrl(port2), "child", "pw-2", "to_r3", PUBLICATION, down, "d3");

            // One after the other: a child whose parent has not reached its own upstream yet is
            // refused (see StartOrderIT), and slots start where they are created, so the
            // workload waits until every tier streams.
            RelayProcess r1 = started(all, RelayProcess.start("r1", work, r1Config));
            waitStreaming(r1, null);
            RelayProcess r2 = started(all, RelayProcess.start("r2-00", work, r2Config));
            waitStreaming(r2, null);
            RelayProcess r3 = started(all, RelayProcess.start("r3", work, r3Config));
            waitStreaming(r3, null);
            RelayProcess[] leafAndRoot = {r1, r3};

            Background background = cleanup.add(new Background());
            background.start("middle-watch", () -> {
                while (!background.stop) {
                    for (RelayProcess each : leafAndRoot) {
                        if (!each.isAlive()) {
                            throw new AssertionError(each.name() + " exited by itself with code " + each.exitCode()
                                    + "; log:\n" + each.log());
                        }
                    }
                    Thread.sleep(100);
                }
            });
            Workload workload = new Workload(root, background, new Random(seed ^ 0x5DEECE66DL));
            background.start("middle-workload", workload::run);

            long workloadEnd = System.nanoTime() + WORKLOAD.toNanos();
            int kills = 0;
            int aimed = 0;
            int midTransaction = 0;
            for (int cycle = 1; ; cycle++) {
                // Each kill comes at a random moment after the restarted R2 streams again.
                waitStreaming(r2, background);
                long pause = 300 + schedule.nextInt(2000);
                long left = TimeUnit.NANOSECONDS.toMillis(workloadEnd - System.nanoTime());
                if (left < pause && kills >= MIN_KILLS) {
                    break;
                }
                boolean aim = schedule.nextInt(3) == 0;
                if (aim) {
                    // Just after a large transaction commits on the root, so the kill lands while
                    // it travels through R2 (its changelog, its apply, its feed to R3).
                    sleep(background, Math.max(0, pause - 400));
                    workload.awaitLargeCommit(Duration.ofSeconds(2));
                    sleep(background, schedule.nextInt(200));
                } else {
                    sleep(background, pause);
                }
                if (!r2.isAlive()) {
                    fail(r2.name() + " exited by itself with code " + r2.exitCode() + " before kill " + (kills + 1)
                            + "; log:\n" + r2.log());
                }
                boolean writing = downstreamWriteInProgress(down);
                r2.kill9();
                kills++;
                aimed += aim ? 1 : 0;
                midTransaction += writing ? 1 : 0;
                sleep(background, schedule.nextInt(800));
                r2 = started(all, RelayProcess.start(String.format("r2-%02d", cycle), work, r2Config));
            }
            workload.stop = true;
            assertTrue(await(() -> workload.done, Duration.ofSeconds(30), background), "workload did not stop");
            background.check();

            long catchUpStart = System.nanoTime();
            long events = workload.nextEventId - 1;
            List<List<String>> expectedCounters = new ArrayList<>();
            for (int id = 1; id <= COUNTERS; id++) {
                expectedCounters.add(List.of(Integer.toString(id), Long.toString(workload.expected[id])));
            }
            List<List<String>> expectedEvents = List.of(List.of(Long.toString(events), "1", Long.toString(events),
                    Long.toString(events * (events + 1) / 2)));
            assertEquals(expectedCounters, root.query(DB, COUNTERS_SQL), "root counters vs the workload's own count");
            assertEquals(expectedEvents, root.query(DB, EVENTS_SQL), "root events vs the workload");
            Topology.Check caughtUp = () -> {
                for (String db : List.of("d1", "d2", "d3")) {
                    if (!expectedEvents.equals(down.query(db, EVENTS_SQL))
                            || !expectedCounters.equals(down.query(db, COUNTERS_SQL))) {
                        return false;
                    }
                }
                return true;
            };
            if (!await(caughtUp, CATCH_UP, background)) {
                StringBuilder state = new StringBuilder("the chain did not reach the root's state within "
                        + CATCH_UP.toSeconds() + " s; root events " + expectedEvents);
                for (String db : List.of("d1", "d2", "d3")) {
                    state.append("\n").append(db).append(": events ").append(down.query(db, EVENTS_SQL))
                            .append(", id ranges ").append(Topology.rows(down.query(db, ID_RANGES_SQL)))
                            .append(", counters equal: ").append(expectedCounters.equals(down.query(db, COUNTERS_SQL)))
                            .append(", checkpoint ").append(down.query(db, "SELECT * FROM pgrelay.checkpoint"));
                }
                fail(state + "\nlast R2 log:\n" + r2.log());
            }
            long catchUpMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - catchUpStart);

            // One LSN space: once idle every tier names the same last root commit.
            String rootLast = root.query(DB, "SELECT max(at)::text FROM events").get(0).get(0);
            assertTrue(await(() -> {
                String t1 = checkpointCommitTime(down, "d1", "r1");
                return t1 != null && t1.equals(checkpointCommitTime(down, "d2", "r2"))
                        && t1.equals(checkpointCommitTime(down, "d3", "r3"));
            }, Duration.ofSeconds(15), background), "checkpoint commit_time differs between tiers: r1="
                    + checkpointCommitTime(down, "d1", "r1") + " r2=" + checkpointCommitTime(down, "d2", "r2")
                    + " r3=" + checkpointCommitTime(down, "d3", "r3"));
            String commitTime = checkpointCommitTime(down, "d3", "r3");

            System.out.printf("MiddleKillIT: seed=%d kills of R2=%d (aimed after a large transaction: %d, with an open "
                            + "downstream write transaction: %d) R2 processes=%d transactions=%d (multi-statement %d, "
                            + "large %d) increments=%d events=%d catch-up after workload=%d ms; checkpoint commit_time "
                            + "of every tier %s (last event at %s)%n",
                    seed, kills, aimed, midTransaction, kills + 1, workload.transactions, workload.multi,
                    workload.large, workload.increments.get(), events, catchUpMillis, commitTime, rootLast);

            background.stopAll(Duration.ofSeconds(10));
            for (RelayProcess each : List.of(r3, r2, r1)) {
                each.term();
                assertEquals(0, each.waitFor(SHUTDOWN), each.name() + " exit code after SIGTERM; log:\n" + each.log());
            }
            for (RelayProcess each : all) {
                Topology.assertCleanLog(each);
            }
            assertTrue(kills >= MIN_KILLS, "only " + kills + " kills");
            System.out.printf("MiddleKillIT: test %d s%n", TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - testStart));
            passed[0] = true;
        }
    }

    private static RelayProcess started(List<RelayProcess> all, RelayProcess relay) {
        all.add(relay);
        return relay;
    }

    private static void waitStreaming(RelayProcess relay, Background background) throws Exception {
        if (!await(() -> relay.log().contains("streaming slot") || !relay.isAlive(), STREAMING, background)
                || !relay.isAlive()) {
            fail(relay.name() + " did not stream within " + STREAMING.toSeconds() + " s (alive: " + relay.isAlive()
                    + "); log:\n" + relay.log());
        }
    }

    private static boolean downstreamWriteInProgress(PgCluster down) throws SQLException {
        return !down.query("d2", "SELECT pid FROM pg_stat_activity WHERE datname = 'd2' AND application_name LIKE 'pgrelay%'"
                + " AND backend_xid IS NOT NULL").isEmpty();
    }

    private static void sleep(Background background, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < deadline) {
            background.check();
            Thread.sleep(Math.min(50, Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()))));
        }
    }

    /**
     * Counter increments and gapless events on the root; the expected end state is counted on the
     * client and becomes part of it only when the commit returned.
     */
    private static final class Workload {

        final PgCluster root;
        final Random random;
        final long[] expected = new long[COUNTERS + 1];
        final AtomicLong increments = new AtomicLong();
        final AtomicLong largeCommits = new AtomicLong();
        volatile boolean largeRequested;
        volatile boolean stop;
        volatile boolean done;
        volatile long nextEventId = 1;
        volatile long transactions;
        volatile long multi;
        volatile long large;

        final Background background;

        Workload(PgCluster root, Background background, Random random) {
            this.background = background;
            this.root = root;
            this.random = random;
        }

        void run() throws Exception {
            try (Connection c = root.connect(DB);
                 PreparedStatement increment = c.prepareStatement("UPDATE counters SET n = n + 1 WHERE id = ?");
                 PreparedStatement event = c.prepareStatement("INSERT INTO events (id, counter_id) VALUES (?, ?)")) {
                c.setAutoCommit(false);
                long nextLarge = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1000 + random.nextInt(1500));
                while (!stop && !background.stop) {
                    long[] delta = new long[COUNTERS + 1];
                    long first = nextEventId;
                    long added = 0;
                    boolean big = largeRequested || System.nanoTime() >= nextLarge;
                    if (big) {
                        largeRequested = false;
                        for (int i = 1; i <= 2000; i++) {
                            int id = 1 + random.nextInt(COUNTERS);
                            increment.setInt(1, id);
                            increment.addBatch();
                            delta[id]++;
                            if (i % 100 == 0) {
                                increment.executeBatch();
                                event.setLong(1, first + added++);
                                event.setInt(2, id);
                                event.executeUpdate();
                            }
                        }
                        nextLarge = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500 + random.nextInt(2000));
                    } else {
                        int statements = random.nextInt(5) == 0 ? 2 + random.nextInt(8) : 1;
                        for (int i = 0; i < statements; i++) {
                            int id = 1 + random.nextInt(COUNTERS);
                            increment.setInt(1, id);
                            if (increment.executeUpdate() != 1) {
                                throw new AssertionError("counter " + id + " missing on the root");
                            }
                            delta[id]++;
                            event.setLong(1, first + added++);
                            event.setInt(2, id);
                            event.executeUpdate();
                        }
                        if (statements > 1) {
                            multi++;
                        }
                    }
                    c.commit();
                    for (int id = 1; id <= COUNTERS; id++) {
                        expected[id] += delta[id];
                        increments.addAndGet(delta[id]);
                    }
                    nextEventId = first + added;
                    transactions++;
                    if (big) {
                        large++;
                        largeCommits.incrementAndGet();
                    }
                    if (transactions % 4 == 0) {
                        Thread.sleep(1);
                    }
                }
            } finally {
                done = true;
            }
        }

        /** Asks for a large transaction now and waits (bounded) until one has committed. */
        void awaitLargeCommit(Duration timeout) throws InterruptedException {
            long before = largeCommits.get();
            largeRequested = true;
            long deadline = System.nanoTime() + timeout.toNanos();
            while (largeCommits.get() == before && System.nanoTime() < deadline && !done) {
                Thread.sleep(2);
            }
        }
    }
}
