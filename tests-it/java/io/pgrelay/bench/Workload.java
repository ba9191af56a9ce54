package io.pgrelay.bench;

import io.pgrelay.it.PgCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A backlog to catch up with: its tables (the same on every side), how it is written, its size. */
enum Workload {

    /** Many mid-sized transactions: one INSERT … SELECT per transaction, one WAL record per row. */
    W1 {
        @Override
        String describe(BenchOptions o) {
            return String.format(Locale.ROOT, "%,d rows in %,d-row txns", o.rows(), o.rowsPerTxn());
        }

        @Override
        long transactions(BenchOptions o) {
            return (o.rows() + o.rowsPerTxn() - 1) / o.rowsPerTxn();
        }

        @Override
        void writeBacklog(PgCluster root, String db, BenchOptions o, Tools tools) throws Exception {
            for (int first = 1; first <= o.rows(); first += o.rowsPerTxn()) {
                root.execute(db, insertRange(first, Math.min(o.rows(), first + o.rowsPerTxn() - 1)));
            }
        }
    },

    /** Small transactions from concurrent clients: pgbench's TPC-B-like script. */
    W2 {
        @Override
        String describe(BenchOptions o) {
            return String.format(Locale.ROOT, "pgbench TPC-B, %,d txns, %d clients", transactions(o), o.w2Clients());
        }

        @Override
        List<String> schema() {
            return Tpcb.SCHEMA;
        }

        @Override
        List<String> initialData() {
            return Tpcb.LOAD;
        }

        @Override
        List<String> tables() {
            return Tpcb.TABLES;
        }

        @Override
        long transactions(BenchOptions o) {
            return (long) (o.w2Txns() / o.w2Clients()) * o.w2Clients();
        }

        @Override
        long rows(BenchOptions o) {
            return 4 * transactions(o); // three UPDATEs and one INSERT each
        }

        @Override
        String unavailable(Tools tools) {
            return tools.pgbench() == null ? "pgbench not found (PATH, /usr/lib/postgresql/N/bin); install PostgreSQL's"
                    + " server package (Debian: postgresql-15) for it" : null;
        }

        @Override
        void writeBacklog(PgCluster root, String db, BenchOptions o, Tools tools) throws Exception {
            long perClient = transactions(o) / o.w2Clients();
            List<String> command = new ArrayList<>(List.of(tools.pgbench().toString(), "-n",
                    "-c", Integer.toString(o.w2Clients()), "-j", Integer.toString(Math.min(2, o.w2Clients())),
                    "-t", Long.toString(perClient), "-h", root.host(), "-p", Integer.toString(root.port()),
                    "-U", root.user(), db));
            ProcessRun.Result result = ProcessRun.run(command, Map.of("PGPASSWORD", root.password()),
                    Duration.ofMinutes(30), tools.work());
            String processed = "number of transactions actually processed: " + transactions(o) + "/" + transactions(o);
            if (result.exitCode() != 0 || !result.output().contains(processed)) {
                throw new IllegalStateException("pgbench failed: " + result);
            }
        }
    },

    /** One transaction as large as W1 in total: decoded, spilled and sent as a whole. */
    W3 {
        @Override
        String describe(BenchOptions o) {
            return String.format(Locale.ROOT, "one %,d-row txn", o.rows());
        }

        @Override
        long transactions(BenchOptions o) {
            return 1;
        }

        @Override
        void writeBacklog(PgCluster root, String db, BenchOptions o, Tools tools) throws Exception {
            root.execute(db, insertRange(1, o.rows()));
        }
    };

    /** The table every consumer's downstream must see last: the backlog is complete once it arrived. */
    static final String END_TABLE = "bench_end";

    abstract String describe(BenchOptions o);

    abstract long transactions(BenchOptions o);

    /** Rows changed by the backlog (inserts, updates, deletes). */
    long rows(BenchOptions o) {
        return o.rows();
    }

    /** Writes the backlog on the root (the consumers' slots exist, nothing reads them). */
    abstract void writeBacklog(PgCluster root, String db, BenchOptions o, Tools tools) throws Exception;

    /** Why this workload cannot run here, or null. */
    String unavailable(Tools tools) {
        return null;
    }

    List<String> schema() {
        return List.of("CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL, n int NOT NULL)");
    }

    /** Rows every side holds before the slots exist (like an initial copy). */
    List<String> initialData() {
        return List.of();
    }

    /** Tables compared between root and downstream. */
    List<String> tables() {
        return List.of("t");
    }

    private static String insertRange(int first, int last) {
        return "INSERT INTO t SELECT g, 'row ' || g || ' of the backlog', g % 977 FROM generate_series(" + first + ", "
                + last + ") g";
    }

    /** The statements that give a database (root or downstream) this workload's tables and initial rows. */
    List<String> setUp() {
        List<String> all = new ArrayList<>(schema());
        all.add("CREATE TABLE " + END_TABLE + " (id int PRIMARY KEY)");
        all.addAll(initialData());
        return all;
    }
}
