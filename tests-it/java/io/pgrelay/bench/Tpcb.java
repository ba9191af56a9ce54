package io.pgrelay.bench;

import java.sql.Connection;
import java.sql.Statement;
import java.sql.SQLException;
import java.util.List;
import java.util.Random;

/**
 * pgbench's tables at scale 1 (1 branch, 10 tellers, 100,000 accounts), created and filled by SQL
 * on the root and on every downstream alike, so pgbench itself is only needed for the
 * transactions. {@code pgbench_history} gets a key (pgbench's own has none) so every table can be
 * compared and updated by key; pgbench names its columns, so its script is unchanged.
 */
final class Tpcb {

    static final int TELLERS = 10;
    static final int ACCOUNTS = 100_000;
    static final List<String> TABLES = List.of("pgbench_branches", "pgbench_tellers", "pgbench_accounts",
            "pgbench_history");
    static final List<String> SCHEMA = List.of(
            "CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88))",
            "CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84))",
            "CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))",
            "CREATE TABLE pgbench_history (hid bigserial PRIMARY KEY, tid int, bid int, aid int, delta int,"
                    + " mtime timestamp, filler char(22))");
    static final List<String> LOAD = List.of(
            "INSERT INTO pgbench_branches VALUES (1, 0, NULL)",
            "INSERT INTO pgbench_tellers SELECT g, 1, 0, NULL FROM generate_series(1, " + TELLERS + ") g",
            "INSERT INTO pgbench_accounts SELECT g, 1, 0, '' FROM generate_series(1, " + ACCOUNTS + ") g",
            "VACUUM ANALYZE");

    private Tpcb() {
    }

    /**
     * pgbench's tpcb-like transaction over one connection, for a paced load without pgbench: the
     * whole transaction in one round trip, so a busy machine still keeps the pace.
     */
    static final class Client implements AutoCloseable {

        private final Connection connection;
        private final Statement statement;
        private final Random random;

        /** @param seed different per client, so concurrent clients do not pick the same rows in step */
        Client(Connection connection, long seed) throws SQLException {
            this.connection = connection;
            this.random = new Random(seed);
            this.statement = connection.createStatement();
        }

        void transaction() throws SQLException {
            int aid = 1 + random.nextInt(ACCOUNTS);
            int tid = 1 + random.nextInt(TELLERS);
            int delta = random.nextInt(10_001) - 5_000;
            statement.execute("BEGIN;"
                    + "UPDATE pgbench_accounts SET abalance = abalance + " + delta + " WHERE aid = " + aid + ";"
                    + "UPDATE pgbench_tellers SET tbalance = tbalance + " + delta + " WHERE tid = " + tid + ";"
                    + "UPDATE pgbench_branches SET bbalance = bbalance + " + delta + " WHERE bid = 1;"
                    + "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (" + tid + ", 1, " + aid + ", "
                    + delta + ", localtimestamp);"
                    + "COMMIT");
        }

        @Override
        public void close() throws SQLException {
            connection.close();
        }
    }
}
