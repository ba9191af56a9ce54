package io.pgrelay.bench;

import io.pgrelay.apply.ApplyListener;
import io.pgrelay.config.ConfigLoader;
import io.pgrelay.it.PgCluster;
import io.pgrelay.relay.Relay;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Initial copy of one table of {@code bench.rows} rows (default 1M) by three means, one after
 * the other on the same machine: pgrelay's {@code sync.initial}, {@code pg_dump --data-only |
 * psql}, and native logical replication's {@code copy_data}. Each is timed until the downstream
 * table equals the root's; MB/s is the table's heap size on the root over that time.
 *
 * <p>Run with {@code bench/run-initial-copy}. Not a test: shared machines are noisy, only ratios
 * from one run mean anything.
 */
public final class InitialCopyBenchmark {

    private static final String DB = "bench";
    private static final String TABLE = "CREATE TABLE big (id bigint PRIMARY KEY, payload text, amount numeric, at timestamptz)";
    private static final Duration LIMIT = Duration.ofMinutes(10);

    public static void main(String[] args) throws Exception {
        int rows = Integer.getInteger("bench.rows", 1_000_000);
        try (PgCluster root = PgCluster.builder("copybench-root").fsync(true).start();
             PgCluster down = PgCluster.builder("copybench-down").fsync(true).start()) {
            root.createDatabase(DB);
            root.execute(DB, TABLE, "CREATE PUBLICATION p FOR TABLE big",
                    "INSERT INTO big SELECT g, md5(g::text), g * 1.5, '2020-01-01'::timestamptz + g * interval '1 s' "
                            + "FROM generate_series(1, " + rows + ") g", "VACUUM ANALYZE big");
            for (String db : List.of("relay_db", "dump_db", "native_db")) {
                down.createDatabase(db);
                down.execute(db, TABLE);
            }
            String expected = checksum(root, DB);
            double megabytes = Double.parseDouble(root.query(DB, "SELECT pg_relation_size('big')").get(0).get(0)) / 1e6;
            System.out.printf("table: %,d rows, %.1f MB heap on the root%n", rows, megabytes);

            double relay = timeRelay(root, down, expected);
            double dump = timeDump(root, down, expected);
            double nativeCopy = timeNative(root, down, expected);

            System.out.println();
            System.out.println("| method | seconds | rows/s | MB/s | relative to pg_dump \\| psql |");
            System.out.println("|---|---|---|---|---|");
            row("pgrelay sync.initial", relay, rows, megabytes, dump);
            row("pg_dump --data-only \\| psql", dump, rows, megabytes, dump);
            row("native copy_data", nativeCopy, rows, megabytes, dump);
        }
    }

    private static void row(String name, double seconds, long rows, double megabytes, double reference) {
        System.out.printf("| %s | %.2f | %,.0f | %.1f | %.2f |%n", name, seconds, rows / seconds, megabytes / seconds,
                reference / seconds);
    }

    private static double timeRelay(PgCluster root, PgCluster down, String expected) throws Exception {
        Properties p = new Properties();
        p.setProperty("upstream.url", root.jdbcUrl(DB));
        p.setProperty("upstream.user", root.user());
        p.setProperty("upstream.password", root.password());
        p.setProperty("upstream.slot", "relay_slot");
        p.setProperty("upstream.publications", "p");
        p.setProperty("downstream.url", down.jdbcUrl("relay_db"));
        p.setProperty("downstream.user", down.user());
        p.setProperty("downstream.password", down.password());
        p.setProperty("sync.initial", "true");
        Relay relay = new Relay(ConfigLoader.fromProperties(p, Map.of()), ApplyListener.NONE);
        Thread thread = new Thread(relay::run, "bench-relay");
        long start = System.nanoTime();
        thread.start();
        try {
            return awaitEqual(down, "relay_db", expected, start);
        } finally {
            relay.requestStop();
            thread.join(30_000);
            root.execute(DB, "SELECT pg_drop_replication_slot('relay_slot')");
        }
    }

    private static double timeDump(PgCluster root, PgCluster down, String expected) throws Exception {
        Path bin = clientBin(root);
        String command = bin.resolve("pg_dump") + " --data-only --table=big -h " + root.host() + " -p " + root.port()
                + " -U " + root.user() + " " + DB + " | " + bin.resolve("psql") + " -q -v ON_ERROR_STOP=1 -h " + down.host()
                + " -p " + down.port() + " -U " + down.user() + " -o /dev/null dump_db";
        ProcessBuilder builder = new ProcessBuilder("bash", "-o", "pipefail", "-c", command).inheritIO();
        builder.environment().put("PGPASSWORD", root.password());
        if (!root.password().equals(down.password())) {
            throw new IllegalStateException("the benchmark passes one PGPASSWORD to both clients");
        }
        long start = System.nanoTime();
        Process process = builder.start();
        if (process.waitFor() != 0) {
            throw new IllegalStateException("pg_dump | psql failed with exit code " + process.exitValue());
        }
        return awaitEqual(down, "dump_db", expected, start);
    }

    /** The server's own bin directory when it has the clients, else the installed PostgreSQL 15 ones. */
    private static Path clientBin(PgCluster cluster) {
        for (Path candidate : new Path[] {cluster.binDir(), Path.of("/usr/lib/postgresql/15/bin"), Path.of("/usr/bin")}) {
            if (candidate != null && Files.isExecutable(candidate.resolve("pg_dump")) && Files.isExecutable(candidate.resolve("psql"))) {
                return candidate;
            }
        }
        throw new IllegalStateException("pg_dump and psql not found: install the PostgreSQL 15 client");
    }

    private static double timeNative(PgCluster root, PgCluster down, String expected) throws Exception {
        long start = System.nanoTime();
        down.execute("native_db", "CREATE SUBSCRIPTION s CONNECTION 'host=" + root.host() + " port=" + root.port()
                + " dbname=" + DB + " user=" + root.user() + " password=" + root.password()
                + "' PUBLICATION p WITH (copy_data = true)");
        double seconds = awaitEqual(down, "native_db", expected, start);
        down.execute("native_db", "DROP SUBSCRIPTION s");
        return seconds;
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
        throw new IllegalStateException(db + " did not get the table within " + LIMIT);
    }

    private static String checksum(PgCluster cluster, String db) throws SQLException {
        try (Connection c = cluster.connect(db); Statement s = c.createStatement()) {
            return checksum(s);
        }
    }

    private static String checksum(Statement s) throws SQLException {
        try (ResultSet rs = s.executeQuery("SELECT count(*), sum(id), sum(amount), sum(hashtext(payload)) FROM big")) {
            rs.next();
            return rs.getString(1) + "/" + rs.getString(2) + "/" + rs.getString(3) + "/" + rs.getString(4);
        }
    }
}
