package io.pgrelay.bench;

import io.pgrelay.apply.ApplyListener;
import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.it.PgCluster;
import io.pgrelay.relay.Relay;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;

/**
 * Catch-up of one backlog by native logical replication (CREATE SUBSCRIPTION's defaults) and by
 * pgrelay, side by side in one run on one machine: the backlog is written while both consumers
 * are off (their slots exist), then each consumer is started alone and timed until its
 * downstream holds every row with equal content.
 *
 * <p>Run with {@code bench/run}. Not a test: shared machines are noisy, only ratios from one run
 * mean anything.
 */
public final class CatchUpBenchmark {

    private static final String DB = "bench";
    private static final Duration LIMIT = Duration.ofMinutes(10);

    public static void main(String[] args) throws Exception {
        int transactions = Integer.getInteger("bench.transactions", 100);
        int rowsPerTransaction = Integer.getInteger("bench.rows", 1000);
        long rows = (long) transactions * rowsPerTransaction;
        try (PgCluster root = PgCluster.builder("bench-root").fsync(true).start();
             PgCluster down = PgCluster.builder("bench-down").fsync(true).start()) {
            root.createDatabase(DB);
            down.createDatabase("native_db");
            down.createDatabase("relay_db");
            String table = "CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL, n int NOT NULL)";
            root.execute(DB, table, "CREATE PUBLICATION p FOR TABLE t",
                    "SELECT pg_create_logical_replication_slot('native_slot', 'pgoutput')",
                    "SELECT pg_create_logical_replication_slot('relay_slot', 'pgoutput')");
            down.execute("native_db", table);
            down.execute("relay_db", table);

            System.out.printf("backlog: %d transactions x %d single-row INSERTs = %d rows%n", transactions, rowsPerTransaction, rows);
            writeBacklog(root, transactions, rowsPerTransaction);
            String expected = checksum(root, DB);

            double nativeSeconds = timeNative(root, down, expected);
            double relaySeconds = timeRelay(root, down, expected);

            System.out.println();
            System.out.println("| consumer | seconds | rows/s | ratio to native |");
            System.out.println("|---|---|---|---|");
            row("native (CREATE SUBSCRIPTION defaults)", nativeSeconds, rows, nativeSeconds);
            row("pgrelay", relaySeconds, rows, nativeSeconds);
        }
    }

    private static void row(String name, double seconds, long rows, double nativeSeconds) {
        System.out.printf("| %s | %.2f | %,.0f | %.2f |%n", name, seconds, rows / seconds, nativeSeconds / seconds);
    }

    private static void writeBacklog(PgCluster root, int transactions, int rowsPerTransaction) throws SQLException {
        try (Connection c = root.connect(DB);
             PreparedStatement insert = c.prepareStatement("INSERT INTO t VALUES (?, ?, ?)")) {
            c.setAutoCommit(false);
            int id = 0;
            for (int t = 0; t < transactions; t++) {
                for (int r = 0; r < rowsPerTransaction; r++) {
                    id++;
                    insert.setInt(1, id);
                    insert.setString(2, "row " + id + " of the backlog");
                    insert.setInt(3, id % 977);
                    insert.addBatch();
                }
                insert.executeBatch(); // one statement per row: one WAL record per row
                c.commit();
            }
        }
    }

    private static double timeNative(PgCluster root, PgCluster down, String expected) throws Exception {
        long start = System.nanoTime();
        down.execute("native_db", "CREATE SUBSCRIPTION s CONNECTION 'host=" + root.host() + " port=" + root.port()
                + " dbname=" + DB + " user=" + root.user() + " password=" + root.password()
                + "' PUBLICATION p WITH (create_slot = false, slot_name = 'native_slot', copy_data = false)");
        double seconds = awaitEqual(down, "native_db", expected, start);
        down.execute("native_db", "ALTER SUBSCRIPTION s DISABLE", "ALTER SUBSCRIPTION s SET (slot_name = NONE)",
                "DROP SUBSCRIPTION s");
        return seconds;
    }

    private static double timeRelay(PgCluster root, PgCluster down, String expected) throws Exception {
        Properties p = new Properties();
        p.setProperty("upstream.url", root.jdbcUrl(DB));
        p.setProperty("upstream.user", root.user());
        p.setProperty("upstream.password", root.password());
        p.setProperty("upstream.slot", "relay_slot");
        p.setProperty("upstream.publications", "p");
        p.setProperty("downstream.url", down.jdbcUrl("relay_db") + System.getProperty("bench.urlSuffix", ""));
        p.setProperty("downstream.user", down.user());
        p.setProperty("downstream.password", down.password());
        RelayConfig config = ConfigLoader.fromProperties(p, Map.of());
        Relay relay = new Relay(config, ApplyListener.NONE);
        Thread thread = new Thread(relay::run, "bench-relay");
        long start = System.nanoTime();
        thread.start();
        try {
            return awaitEqual(down, "relay_db", expected, start);
        } finally {
            relay.requestStop();
            thread.join(30_000);
        }
    }

    private static double awaitEqual(PgCluster down, String db, String expected, long start) throws Exception {
        long deadline = start + LIMIT.toNanos();
        try (Connection c = down.connect(db); Statement s = c.createStatement()) {
            while (System.nanoTime() < deadline) {
                if (expected.equals(checksum(s))) {
                    return (System.nanoTime() - start) / 1e9;
                }
                Thread.sleep(20);
            }
        }
        throw new IllegalStateException(db + " did not catch up within " + LIMIT);
    }

    private static String checksum(PgCluster cluster, String db) throws SQLException {
        try (Connection c = cluster.connect(db); Statement s = c.createStatement()) {
            return checksum(s);
        }
    }

    /** Row count plus a content hash: equal means every row arrived with its values. */
    private static String checksum(Statement s) throws SQLException {
        try (ResultSet rs = s.executeQuery("SELECT count(*), sum(id), sum(n), sum(hashtext(v)) FROM t")) {
            rs.next();
            return rs.getString(1) + "/" + rs.getString(2) + "/" + rs.getString(3) + "/" + rs.getString(4);
        }
    }
}
