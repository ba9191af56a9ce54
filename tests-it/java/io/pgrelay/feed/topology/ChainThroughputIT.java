package io.pgrelay.feed.topology;

import static io.pgrelay.feed.topology.Topology.DB;
import static io.pgrelay.feed.topology.Topology.await;
import static io.pgrelay.feed.topology.Topology.awaitEqual;
import static io.pgrelay.feed.topology.Topology.config;
import static io.pgrelay.feed.topology.Topology.feedUrl;
import static io.pgrelay.feed.topology.Topology.freePort;
import static io.pgrelay.feed.topology.Topology.relay;
import static io.pgrelay.feed.topology.Topology.withFeed;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.feed.topology.Topology.Background;
import io.pgrelay.feed.topology.Topology.Cleanup;
import io.pgrelay.it.PgCluster;
import io.pgrelay.it.RelayRunner;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Throughput and lag of a two-tier chain root → R1 → R2 under a pgbench-like workload (update an
 * account, a teller and a branch, insert a history row: one transaction).
 *
 * <p>Catch-up: R1 is stopped, {@value #BACKLOG} transactions run on the root, R1 starts again;
 * the time until each tier equals the root gives the chain's catch-up rate in rows per second.
 *
 * <p>Lag: at a steady ~{@value #STEADY_TPS} tps for {@value #STEADY_SECONDS} s, a marker row is
 * inserted every 100 ms in a transaction of its own. Root and downstream run with
 * {@code track_commit_timestamp=on} (same host, same clock), so each marker's lag at a tier is
 * the commit timestamp of the downstream transaction that made it visible minus the commit
 * timestamp of the root transaction that wrote it: {@code pg_xact_commit_timestamp(xmin)} on
 * both sides. No trigger, no polling resolution, no extra column. Only loose sanity bounds are
 * asserted; the figures are printed.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ChainThroughputIT {

    private static final String PUBLICATION = "bench";
    private static final int BRANCHES = 10;
    private static final int TELLERS = 100;
    private static final int ACCOUNTS = 100_000;
    private static final int BACKLOG = 10_000;
    private static final int STEADY_TPS = 300;
    private static final int STEADY_SECONDS = 20;
    private static final int MARKER_EVERY_MILLIS = 100;
    private static final Duration START = Duration.ofSeconds(30);
    private static final Duration CATCH_UP = Duration.ofSeconds(90);
    private static final String[] SCHEMA = {
            "CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int NOT NULL, filler char(88))",
            "CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int NOT NULL, tbalance int NOT NULL, filler char(84))",
            "CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, filler char(84))",
            "CREATE TABLE pgbench_history (hid bigserial PRIMARY KEY, tid int, bid int, aid int, delta int, mtime timestamp)",
            "CREATE TABLE marker (id int PRIMARY KEY, note text)"};
    private static final String[] LOAD = {
            "INSERT INTO pgbench_branches SELECT g, 0, '' FROM generate_series(1, " + BRANCHES + ") g",
            "INSERT INTO pgbench_tellers SELECT g, 1 + (g - 1) / (" + TELLERS / BRANCHES + "), 0, '' FROM generate_series(1, "
                    + TELLERS + ") g",
            "INSERT INTO pgbench_accounts SELECT g, 1 + (g - 1) / (" + ACCOUNTS / BRANCHES + "), 0, '' FROM generate_series(1, "
                    + ACCOUNTS + ") g"};
    private static final List<String> COMPARED = List.of(
            "SELECT bid, bbalance FROM pgbench_branches ORDER BY bid",
            "SELECT tid, tbalance FROM pgbench_tellers ORDER BY tid",
            "SELECT count(*), sum(abalance), md5(string_agg(aid || ':' || abalance, ',' ORDER BY aid)) "
                    + "FROM pgbench_accounts WHERE abalance <> 0",
            "SELECT count(*), coalesce(sum(hid), 0), coalesce(sum(delta), 0), "
                    + "md5(string_agg(hid || ':' || aid || ':' || delta || ':' || mtime, ',' ORDER BY hid)) FROM pgbench_history",
            "SELECT count(*) FROM marker");
    private static final String HISTORY = COMPARED.get(3);

    @Test
    void pgbenchThroughTwoTiers() throws Exception {
        boolean[] passed = {false};
        long testStart = System.nanoTime();
        try (Cleanup cleanup = new Cleanup()) {
            Path work = Topology.workDir("ChainThroughputIT");
            cleanup.deleteIfPassed(work, () -> passed[0]);
            PgCluster root = cleanup.add(PgCluster.builder("bench-root").setting("track_commit_timestamp", "on").start());
            PgCluster down = cleanup.add(PgCluster.builder("bench-down").setting("track_commit_timestamp", "on").start());
            root.createDatabase(DB);
            root.execute(DB, SCHEMA);
            root.execute(DB, LOAD);
            root.execute(DB, "CREATE PUBLICATION " + PUBLICATION + " FOR ALL TABLES");
            for (String db : List.of("d1", "d2")) {
                down.createDatabase(db);
                down.execute(db, SCHEMA);
                down.execute(db, LOAD); // the initial rows predate the slots, like an initial sync
            }

            int port1 = freePort();
            var r1Config = config(withFeed(relay("r1", root.jdbcUrl(DB), root.user(), root.password(), "to_r1",
                    PUBLICATION, down, "d1"), port1, "pw-1", work.resolve("r1")));
            var r2Config = config(relay("r2", feedUrl(port1), "child", "pw-1", "to_r2", PUBLICATION, down, "d2"));
            RelayRunner r1 = cleanup.add(RelayRunner.start(r1Config));
            r1.awaitStreaming(START);
            RelayRunner r2 = cleanup.add(RelayRunner.start(r2Config));
            r2.awaitStreaming(START);
            Background background = cleanup.add(new Background());
            Map<String, RelayRunner> running = Topology.watchRunners(background);
            running.put("r2", r2);

            // ---- Catch-up: a backlog of BACKLOG transactions behind a stopped R1.
            r1.close();
            Random random = new Random(42);
            long rootStart = System.nanoTime();
            try (Bench bench = new Bench(root, random)) {
                for (int i = 0; i < BACKLOG; i++) {
                    bench.transaction();
                }
            }
            double rootSeconds = (System.nanoTime() - rootStart) / 1e9;
            List<List<String>> want = root.query(DB, HISTORY);
            long rows = 4L * BACKLOG;
            long catchUpStart = System.nanoTime();
            RelayRunner r1b = cleanup.add(RelayRunner.start(r1Config));
            running.put("r1", r1b);
            double[] tierSeconds = new double[2];
            for (int tier = 1; tier <= 2; tier++) {
                String db = "d" + tier;
                assertTrue(await(() -> want.equals(down.query(db, HISTORY)), CATCH_UP, background),
                        "tier " + tier + " did not catch up within " + CATCH_UP.toSeconds() + " s: " + down.query(db, HISTORY));
                tierSeconds[tier - 1] = (System.nanoTime() - catchUpStart) / 1e9;
            }
            for (String db : List.of("d1", "d2")) {
                for (String q : COMPARED) {
                    awaitEqual(() -> root.query(DB, q), () -> down.query(db, q), CATCH_UP, background, db + ": " + q);
                }
            }
            System.out.printf("ChainThroughputIT: backlog %d transactions (%d rows) written on the root in %.1f s "
                            + "(%.0f tps); catch-up from R1's restart: tier 1 in %.1f s (%.0f rows/s), leaf (tier 2) in "
                            + "%.1f s (%.0f rows/s, %.0f tps)%n", BACKLOG, rows, rootSeconds, BACKLOG / rootSeconds,
                    tierSeconds[0], rows / tierSeconds[0], tierSeconds[1], rows / tierSeconds[1], BACKLOG / tierSeconds[1]);
            assertTrue(tierSeconds[1] < 80, "the leaf needed " + tierSeconds[1] + " s to catch up");

            // ---- Steady load with markers.
            int markers = 0;
            long transactions = 0;
            long steadyStart = System.nanoTime();
            long interval = TimeUnit.SECONDS.toNanos(1) / STEADY_TPS;
            long late = 0;
            try (Bench bench = new Bench(root, random);
                 Connection c = root.connect(DB);
                 PreparedStatement marker = c.prepareStatement("INSERT INTO marker VALUES (?, 'm')")) {
                long nextMarker = steadyStart;
                long end = steadyStart + TimeUnit.SECONDS.toNanos(STEADY_SECONDS);
                long next = steadyStart;
                while (System.nanoTime() < end) {
                    background.check();
                    long now = System.nanoTime();
                    if (now >= nextMarker) {
                        marker.setInt(1, ++markers);
                        marker.executeUpdate(); // autocommit: a transaction of its own
                        nextMarker += TimeUnit.MILLISECONDS.toNanos(MARKER_EVERY_MILLIS);
                    }
                    if (now >= next) {
                        bench.transaction();
                        transactions++;
                        next += interval;
                        if (System.nanoTime() - next > TimeUnit.MILLISECONDS.toNanos(100)) {
                            late++;
                        }
                    } else {
                        long sleep = Math.min(next, nextMarker) - now;
                        if (sleep > 0) {
                            TimeUnit.NANOSECONDS.sleep(Math.min(sleep, TimeUnit.MILLISECONDS.toNanos(5)));
                        }
                    }
                }
            }
            double steadySeconds = (System.nanoTime() - steadyStart) / 1e9;
            for (String db : List.of("d1", "d2")) {
                for (String q : COMPARED) {
                    awaitEqual(() -> root.query(DB, q), () -> down.query(db, q), CATCH_UP, background, db + ": " + q);
                }
            }

            Map<Integer, Long> rootCommits = commitMicros(root, DB);
            assertEquals(markers, rootCommits.size(), "markers on the root");
            double[] tier1 = lags(rootCommits, commitMicros(down, "d1"));
            double[] tier2 = lags(rootCommits, commitMicros(down, "d2"));
            double[] hop = lags(commitMicros(down, "d1"), commitMicros(down, "d2"));
            System.out.printf("ChainThroughputIT: steady load %d transactions in %.1f s (%.0f tps, %d late by >100 ms), "
                            + "%d markers; lag from root commit to downstream commit (track_commit_timestamp):%n"
                            + "  tier 1 (R1 -> d1): p50 %.1f ms, p99 %.1f ms, max %.1f ms%n"
                            + "  tier 2 (root -> R1 -> R2 -> d2): p50 %.1f ms, p99 %.1f ms, max %.1f ms%n"
                            + "  hop R1 -> R2 (d2 commit - d1 commit): p50 %.1f ms, p99 %.1f ms (can be negative: R2 reads R1's "
                            + "changelog, not d1)%n",
                    transactions, steadySeconds, transactions / steadySeconds, late, markers,
                    pct(tier1, 50), pct(tier1, 99), pct(tier1, 100), pct(tier2, 50), pct(tier2, 99), pct(tier2, 100),
                    pct(hop, 50), pct(hop, 99));

            assertTrue(markers >= STEADY_SECONDS * 1000 / MARKER_EVERY_MILLIS * 9 / 10, "only " + markers + " markers");
            assertTrue(transactions >= (long) STEADY_TPS * STEADY_SECONDS * 8 / 10,
                    "the root managed only " + transactions + " transactions in " + STEADY_SECONDS + " s");
            for (double[] lags : List.of(tier1, tier2)) {
                assertTrue(pct(lags, 0) >= -5, "a downstream commit precedes its root commit: " + pct(lags, 0) + " ms");
                assertTrue(pct(lags, 50) < 5_000, "median lag " + pct(lags, 50) + " ms");
                assertTrue(pct(lags, 99) < 15_000, "p99 lag " + pct(lags, 99) + " ms");
            }
            System.out.printf("ChainThroughputIT: test %d s%n", TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - testStart));

            running.clear();
            background.stopAll(Duration.ofSeconds(5));
            r2.close();
            r1b.close();
            passed[0] = true;
        }
    }

    /** Commit time (µs since the epoch) of the transaction that made each marker visible. */
    private static Map<Integer, Long> commitMicros(PgCluster cluster, String db) throws SQLException {
        Map<Integer, Long> commits = new HashMap<>();
        for (List<String> row : cluster.query(db,
                "SELECT id, (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000000)::bigint FROM marker")) {
            commits.put(Integer.parseInt(row.get(0)), Long.parseLong(row.get(1)));
        }
        return commits;
    }

    /** Lag in ms per marker, sorted. */
    private static double[] lags(Map<Integer, Long> root, Map<Integer, Long> tier) {
        assertEquals(root.keySet(), tier.keySet(), "markers at the tier");
        List<Double> lags = new ArrayList<>();
        for (var entry : root.entrySet()) {
            lags.add((tier.get(entry.getKey()) - entry.getValue()) / 1000.0);
        }
        double[] sorted = lags.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return sorted;
    }

    /** Nearest-rank percentile of a (re-sorted) array; 0 = min, 100 = max. */
    private static double pct(double[] values, double p) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    /** pgbench's TPC-B-like transaction over one connection. */
    private static final class Bench implements AutoCloseable {

        private final Connection connection;
        private final PreparedStatement account;
        private final PreparedStatement teller;
        private final PreparedStatement branch;
        private final PreparedStatement history;
        private final Random random;

        Bench(PgCluster root, Random random) throws SQLException {
            this.random = random;
            connection = root.connect(DB);
            connection.setAutoCommit(false);
            account = connection.prepareStatement("UPDATE pgbench_accounts SET abalance = abalance + ? WHERE aid = ?");
            teller = connection.prepareStatement("UPDATE pgbench_tellers SET tbalance = tbalance + ? WHERE tid = ?");
            branch = connection.prepareStatement("UPDATE pgbench_branches SET bbalance = bbalance + ? WHERE bid = ?");
            history = connection.prepareStatement(
                    "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (?, ?, ?, ?, localtimestamp)");
        }

        void transaction() throws SQLException {
            int aid = 1 + random.nextInt(ACCOUNTS);
            int tid = 1 + random.nextInt(TELLERS);
            int bid = 1 + random.nextInt(BRANCHES);
            int delta = random.nextInt(10_001) - 5_000;
            account.setInt(1, delta);
            account.setInt(2, aid);
            account.executeUpdate();
            teller.setInt(1, delta);
            teller.setInt(2, tid);
            teller.executeUpdate();
            branch.setInt(1, delta);
            branch.setInt(2, bid);
            branch.executeUpdate();
            history.setInt(1, tid);
            history.setInt(2, bid);
            history.setInt(3, aid);
            history.setInt(4, delta);
            history.executeUpdate();
            connection.commit();
        }

        @Override
        public void close() throws SQLException {
            connection.close();
        }
    }
}
