package io.pgrelay.bench;

import io.pgrelay.it.PgCluster;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Steady-state lag through two tiers, for pgrelay (R1 → R2) and native cascading: a TPC-B load at
 * a fixed rate on the root, and a heartbeat row every 100 ms in a transaction of its own. The
 * heartbeat's {@code inserted_at} is the root's clock at the insert; each downstream fills its own
 * {@code applied_at} (a column replication does not carry) with its clock when the row arrives; all
 * servers share one host, so one clock: lag = applied_at - inserted_at, read at each tier.
 * (Commit timestamps, as ChainThroughputIT uses, do not work for native replication: its apply
 * worker commits with the origin's commit time.)
 */
final class LagBenchmark {

    private static final long HEARTBEAT_EVERY_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long HEALTH_EVERY_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final int LOAD_CLIENTS = 4;

    /** One tier of one system; {@code reason} is set (and the figures are not) when it failed. */
    record LagRow(String system, String tier, double p50, double p99, double max, int heartbeats, double achievedTps,
                  int targetTps, String reason) {
    }

    private LagBenchmark() {
    }

    static List<LagRow> run(BenchOptions o, Tools tools, PgCluster root, PgCluster down1, PgCluster down2,
                            java.nio.file.Path work, int rotation, PrintStream out) {
        List<String> systems = new ArrayList<>(List.of("pgrelay", "native"));
        java.util.Collections.rotate(systems, rotation);
        List<LagRow> rows = new ArrayList<>();
        for (String system : systems) {
            Stage stage = new Stage(o, tools, root, down1, down2, Workload.W2, "lag_" + system, true,
                    work.resolve("lag_" + system));
            boolean pgrelay = system.equals("pgrelay");
            if (pgrelay && tools.jar() == null) {
                rows.add(failed("pgrelay chain", "target/pgrelay.jar is missing: run mvn package"));
                continue;
            }
            TwoTierChain chain = pgrelay ? new PgrelayChain(stage) : new NativeChain(stage);
            String name = pgrelay ? "pgrelay root -> R1 -> R2" : "native root -> d1 -> d2";
            out.printf("LAG %s: %d tps for %d s after %d s warm-up ...%n", name, o.lagTps(), o.lagSeconds(),
                    o.lagWarmUpSeconds());
            try {
                rows.addAll(measure(stage, chain, name, out));
            } catch (Exception | AssertionError e) {
                out.println("  FAILED: " + e);
                rows.add(failed(name, String.valueOf(e.getMessage())));
            } finally {
                chain.cleanup();
                CatchUpConsumer.quietly("lag root database", () -> root.execute("postgres", "DROP DATABASE IF EXISTS "
                        + stage.rootDb()));
            }
        }
        return rows;
    }

    private static LagRow failed(String system, String reason) {
        return new LagRow(system, "", 0, 0, 0, 0, 0, 0, reason);
    }

    private static List<LagRow> measure(Stage stage, TwoTierChain chain, String name, PrintStream out)
            throws Exception {
        PgCluster root = stage.root();
        stage.createRoot();
        chain.prepare();
        chain.start();
        awaitBoth(stage, chain, 1); // streaming at both tiers before the load starts
        // Warm-up: the same load, not counted, then a pause until both tiers caught up, so the
        // window starts from a warm (JIT-compiled, cached) chain with no backlog.
        int warmUpHeartbeats = (int) load(stage, chain, stage.options().lagWarmUpSeconds(), 0)[1];
        awaitBoth(stage, chain, 2);
        long start = System.nanoTime();
        long[] counts = load(stage, chain, stage.options().lagSeconds(), warmUpHeartbeats);
        double seconds = (System.nanoTime() - start) / 1e9;
        awaitBoth(stage, chain, 3);
        chain.stop();

        int heartbeats = (int) counts[1];
        for (int tier = 1; tier <= 2; tier++) {
            out.printf("  tier %d: lag in ms over the measured window (start, 1/4, 1/2, 3/4, end): %s%n", tier,
                    trend(chain.cluster(tier), chain.database(tier), warmUpHeartbeats));
        }
        double tps = counts[0] / seconds;
        int target = stage.options().lagTps();
        return List.of(
                row(name, "1", lags(chain.cluster(1), chain.database(1), warmUpHeartbeats, heartbeats), tps, target),
                row(name, "2", lags(chain.cluster(2), chain.database(2), warmUpHeartbeats, heartbeats), tps, target));
    }

    /** Writes end marker {@code marker} on the root and waits until both tiers equal the root. */
    private static void awaitBoth(Stage stage, TwoTierChain chain, int marker) throws Exception {
        stage.root().execute(stage.rootDb(), "INSERT INTO " + Workload.END_TABLE + " VALUES (" + marker + ")");
        String expected = Content.snapshot(stage.root(), stage.rootDb(), stage.tables());
        long deadline = System.nanoTime() + stage.options().timeout().toNanos();
        chain.awaitTier(1, stage, expected, marker, deadline);
        chain.awaitTier(2, stage, expected, marker, deadline);
    }

    /**
     * The paced load: {@value #LOAD_CLIENTS} TPC-B clients on threads of their own, each at an
     * equal share of the rate (so one slow round trip does not cost the pace on a busy machine),
     * and the heartbeats on this thread, numbered from {@code heartbeatsBefore + 1}. Returns
     * {TPC-B transactions, heartbeats}.
     */
    private static long[] load(Stage stage, TwoTierChain chain, int seconds, int heartbeatsBefore) throws Exception {
        BenchOptions o = stage.options();
        long start = System.nanoTime();
        long end = start + TimeUnit.SECONDS.toNanos(seconds);
        long interval = TimeUnit.SECONDS.toNanos(1) * LOAD_CLIENTS / o.lagTps();
        ExecutorService clients = Executors.newFixedThreadPool(LOAD_CLIENTS);
        try {
            List<Future<Long>> counts = new ArrayList<>();
            for (int i = 0; i < LOAD_CLIENTS; i++) {
                long offset = i * interval / LOAD_CLIENTS;
                int seed = i;
                counts.add(clients.submit(() -> paced(stage, seed, start + offset, end, interval)));
            }
            int heartbeats = heartbeats(stage, chain, start, end, counts, heartbeatsBefore);
            long transactions = 0;
            for (Future<Long> count : counts) {
                transactions += count.get();
            }
            return new long[] {transactions, heartbeats};
        } finally {
            clients.shutdownNow();
            clients.awaitTermination(30, TimeUnit.SECONDS);
        }
    }

    /** One client's share of the load: a transaction every {@code interval} from {@code first}; returns its count. */
    private static long paced(Stage stage, int seed, long first, long end, long interval) throws Exception {
        long transactions = 0;
        try (Tpcb.Client client = new Tpcb.Client(stage.root().connect(stage.rootDb()), seed)) {
            for (long next = first; next < end; next += interval) {
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                client.transaction();
                transactions++;
            }
        }
        return transactions;
    }

    /** A heartbeat every 100 ms in a transaction of its own; checks the chain and the clients meanwhile. */
    private static int heartbeats(Stage stage, TwoTierChain chain, long start, long end, List<Future<Long>> clients,
                                  int before) throws Exception {
        int heartbeats = 0;
        long nextHealth = start;
        try (Connection c = stage.root().connect(stage.rootDb());
             PreparedStatement heartbeat = c.prepareStatement("INSERT INTO " + Stage.HEARTBEAT_TABLE + " VALUES (?)")) {
            for (long next = start; next < end; next += HEARTBEAT_EVERY_NANOS) {
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                heartbeat.setInt(1, before + ++heartbeats);
                heartbeat.executeUpdate(); // autocommit: a transaction of its own
                if (System.nanoTime() >= nextHealth) {
                    chain.requireHealthy();
                    for (Future<Long> client : clients) {
                        if (client.isDone()) {
                            client.get(); // a client that stopped early threw: rethrow it here
                        }
                    }
                    nextHealth += HEALTH_EVERY_NANOS;
                }
            }
        }
        return heartbeats;
    }

    /** Lag in ms of each heartbeat after the warm-up at a tier, sorted; every heartbeat must have arrived. */
    private static double[] lags(PgCluster cluster, String db, int warmUp, int heartbeats) throws SQLException {
        double[] lags = cluster.query(db, "SELECT extract(epoch FROM applied_at - inserted_at) * 1000 FROM "
                + Stage.HEARTBEAT_TABLE + " WHERE id > " + warmUp).stream()
                .mapToDouble(row -> Double.parseDouble(row.get(0))).sorted().toArray();
        if (lags.length != heartbeats) {
            throw new IllegalStateException(cluster.name() + "/" + db + " has " + lags.length + " heartbeats, the root "
                    + heartbeats);
        }
        return lags;
    }

    /** Lags in heartbeat order at five points of the window: a lag that grows shows a tier falling behind. */
    private static List<Long> trend(PgCluster cluster, String db, int warmUp) throws SQLException {
        List<Long> inOrder = cluster.query(db, "SELECT round(extract(epoch FROM applied_at - inserted_at) * 1000) FROM "
                + Stage.HEARTBEAT_TABLE + " WHERE id > " + warmUp + " ORDER BY id").stream()
                .map(row -> Math.round(Double.parseDouble(row.get(0)))).toList();
        if (inOrder.isEmpty()) {
            return List.of();
        }
        List<Long> points = new ArrayList<>();
        for (int quarter = 0; quarter <= 4; quarter++) {
            points.add(inOrder.get(Math.min(inOrder.size() - 1, quarter * (inOrder.size() - 1) / 4)));
        }
        return points;
    }

    private static LagRow row(String system, String tier, double[] lags, double tps, int targetTps) {
        if (lags.length == 0) {
            throw new IllegalStateException("no heartbeats were written");
        }
        return new LagRow(system, tier, percentile(lags, 50), percentile(lags, 99), lags[lags.length - 1], lags.length,
                tps, targetTps, null);
    }

    /** Nearest-rank percentile of sorted values. */
    static double percentile(double[] sorted, double p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }
}
