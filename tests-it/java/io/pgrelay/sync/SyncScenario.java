package io.pgrelay.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgrelay.it.Eventually;
import io.pgrelay.it.PgCluster;
import io.pgrelay.it.TypeZoo;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The initial-sync scenario shared by the sync ITs: thirteen published tables (the type zoo, a
 * big table, an empty one, a partitioned one published through its root, two joined by a foreign
 * key, seven serial tables), a fill, a write workload that keeps running on the root, and a
 * whole-table comparison.
 */
final class SyncScenario {

    static final String DB = "app";
    static final String PUBLICATION = "sync_pub";
    static final int SERIAL_TABLES = 7;

    /** Table → ORDER BY of its fingerprint. */
    static final Map<String, String> TABLES = tables();

    private SyncScenario() {}

    private static Map<String, String> tables() {
        Map<String, String> tables = new LinkedHashMap<>();
        tables.put("zoo", "id");
        tables.put("big", "id");
        tables.put("empty_t", "id");
        tables.put("part", "id, region");
        tables.put("orders", "id");
        tables.put("order_lines", "id");
        for (int i = 1; i <= SERIAL_TABLES; i++) {
            tables.put(serial(i), "id");
        }
        return tables;
    }

    static String serial(int i) {
        return String.format("t%02d", i);
    }

    /** The DDL of every table; run on the root and on each (empty) downstream. */
    static String[] schema() {
        List<String> ddl = new ArrayList<>();
        ddl.add(TypeZoo.TYPES);
        ddl.add("CREATE TABLE big (id bigint PRIMARY KEY, payload text, amount numeric, at timestamptz)");
        ddl.add("CREATE TABLE empty_t (id int PRIMARY KEY, v text)");
        ddl.add("CREATE TABLE part (id int, region text, v int, PRIMARY KEY (id, region)) PARTITION BY LIST (region)");
        ddl.add("CREATE TABLE part_eu PARTITION OF part FOR VALUES IN ('eu')");
        ddl.add("CREATE TABLE part_us PARTITION OF part FOR VALUES IN ('us')");
        ddl.add("CREATE TABLE orders (id bigint PRIMARY KEY, customer text)");
        ddl.add("CREATE TABLE order_lines (id bigint PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders, qty int)");
        for (int i = 1; i <= SERIAL_TABLES; i++) {
            ddl.add("CREATE TABLE " + serial(i) + " (id serial PRIMARY KEY, v text, n int)");
        }
        return ddl.toArray(String[]::new);
    }

    static String publication() {
        return "CREATE PUBLICATION " + PUBLICATION + " FOR TABLE " + String.join(", ", TABLES.keySet())
                + " WITH (publish_via_partition_root = true)";
    }

    /** Rows before the sync: the zoo workload, {@code bigRows} big rows, partitions, 1000 rows per serial table. */
    static void fill(PgCluster root, int bigRows) throws SQLException {
        root.execute(DB, TypeZoo.workload());
        root.execute(DB, "INSERT INTO big SELECT g, md5(g::text), g * 1.5, '2020-01-01'::timestamptz + g * interval '1 s' "
                + "FROM generate_series(1, " + bigRows + ") g");
        root.execute(DB, "INSERT INTO part SELECT g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, g FROM generate_series(1, 2000) g");
        root.execute(DB, "INSERT INTO orders SELECT g, 'c' || g FROM generate_series(1, 2000) g",
                "INSERT INTO order_lines SELECT g, 1 + g % 2000, g FROM generate_series(1, 6000) g");
        for (int i = 1; i <= SERIAL_TABLES; i++) {
            root.execute(DB, "INSERT INTO " + serial(i) + " (v, n) SELECT 'v' || g, g FROM generate_series(1, 1000) g");
        }
        root.execute(DB, "ANALYZE");
    }

    /** count and md5 of the whole table in key order: equal fingerprints mean equal rows. */
    static String fingerprintSql(String table) {
        return "SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY " + TABLES.get(table) + "), '')) FROM "
                + table + " x";
    }

    static void assertEqualEventually(PgCluster root, PgCluster downstream, Duration timeout) throws Exception {
        for (String table : TABLES.keySet()) {
            String sql = fingerprintSql(table);
            Eventually.assertSameRows(() -> root.query(DB, sql), () -> downstream.query(DB, sql), timeout,
                    downstream.name() + ": " + table);
        }
    }

    static void assertSyncDone(PgCluster downstream, String relayName) throws SQLException {
        assertEquals(List.of(List.of("done")),
                downstream.query(DB, "SELECT state FROM pgrelay.sync_run WHERE relay_name = '" + relayName + "'"));
        assertEquals(List.of(List.of(String.valueOf(TABLES.size()), String.valueOf(TABLES.size()))),
                downstream.query(DB, "SELECT count(*), count(*) FILTER (WHERE state = 'done') FROM pgrelay.sync_table "
                        + "WHERE relay_name = '" + relayName + "'"));
    }

    /**
     * Writes on the root until closed: inserts, updates and deletes on the big, serial and
     * partitioned tables (rows moving between partitions too) and the zoo. Close rethrows its failure.
     */
    static final class Workload implements AutoCloseable {
        private final Thread thread;
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private final AtomicLong transactions = new AtomicLong();
        private volatile boolean stop;

        Workload(PgCluster root, long seed) {
            thread = new Thread(() -> {
                try (Connection c = root.connect(DB); Statement s = c.createStatement()) {
                    c.setAutoCommit(false);
                    Random random = new Random(seed);
                    long nextBig = 10_000_000;
                    while (!stop) {
                        String t = serial(1 + random.nextInt(SERIAL_TABLES));
                        s.execute("INSERT INTO " + t + " (v, n) VALUES ('w', " + random.nextInt(1000) + ")");
                        s.execute("UPDATE " + t + " SET n = n + 1 WHERE id = " + (1 + random.nextInt(1000)));
                        s.execute("DELETE FROM " + t + " WHERE id = " + (1 + random.nextInt(1000)));
                        s.execute("INSERT INTO big VALUES (" + nextBig++ + ", 'new', 1, now())");
                        s.execute("UPDATE big SET amount = amount + 1 WHERE id = " + (1 + random.nextInt(1000)));
                        s.execute("DELETE FROM big WHERE id = " + (1 + random.nextInt(1000)));
                        int p = 1 + random.nextInt(2000);
                        s.execute("UPDATE part SET region = CASE region WHEN 'eu' THEN 'us' ELSE 'eu' END, v = v + 1 "
                                + "WHERE id = " + p);
                        s.execute("UPDATE zoo SET i4 = coalesce(i4, 0) + 1 WHERE id = 3");
                        s.execute("INSERT INTO orders VALUES (" + nextBig + ", 'w')");
                        s.execute("INSERT INTO order_lines VALUES (" + nextBig + ", " + nextBig + ", 1)");
                        c.commit();
                        transactions.incrementAndGet();
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            }, "sync-workload");
            thread.setDaemon(true);
            thread.start();
        }

        long transactions() {
            return transactions.get();
        }

        /** Stops the writes; fails the test if they failed. */
        @Override
        public void close() throws Exception {
            stop = true;
            thread.join(30_000);
            if (failure.get() != null) {
                throw new AssertionError("the workload failed", failure.get());
            }
        }
    }
}
