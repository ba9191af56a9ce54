package io.pgrelay.apply;

import io.pgrelay.it.PgCluster;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * The root workload of {@link ParallelApplyIT}: client threads whose transactions conflict in
 * each way a parallel apply must notice, mixed with many that do not conflict at all.
 *
 * <ul>
 *   <li>single-row inserts and updates on keys no other transaction touches ({@code kv});</li>
 *   <li>hot rows: a few {@code counters} that every client increments;</li>
 *   <li>a parent row and then its child in the next transaction, later the child and then the
 *       parent deleted, or the child moved to a new parent before the old one is deleted
 *       ({@code parent}/{@code child}, a foreign key: different tables, different keys);</li>
 *   <li>primary key changes ({@code moves}): {@code id = id + 1000000}, then an insert that
 *       reuses the old id; two rows swapped through a temporary key, in one transaction or in
 *       three;</li>
 *   <li>a delete and a reinsert of the same key in two transactions;</li>
 *   <li>a transaction writing six tables;</li>
 *   <li>upserts into {@code bulk}, which {@link #truncateBulk()} empties midway (a barrier),
 *       with the same ids inserted again after it;</li>
 *   <li>a secondary UNIQUE value ({@code uniq.code}) that moves from one row to another in the
 *       next transaction (different keys, one constraint);</li>
 *   <li>a table without key ({@code bag}, REPLICA IDENTITY FULL) whose duplicate rows are
 *       updated and deleted one at a time;</li>
 *   <li>a column added to {@code kv} midway ({@link #addColumnToKv()}): a changed Relation.</li>
 * </ul>
 *
 * <p>Every transaction, {@link #truncateBulk()}'s too, also inserts one row into {@code txlog}
 * with the next id of {@code txlog_seq}: the handle by which the test finds the transaction in
 * the WAL (the ALTER TABLE alone has none: it carries no change). Clients take row locks in one order only (counters ascending, everything else on
 * rows of their own or one shared row per transaction; {@code bulk} alone in its transactions,
 * so the TRUNCATE cannot close a cycle), so the root never deadlocks: any error is a failure.
 */
final class ConflictWorkload {

    static final List<String> TABLES = List.of("kv", "counters", "parent", "child", "moves", "bulk", "uniq", "bag", "txlog");
    static final String[] SCHEMA = {
            "CREATE SEQUENCE txlog_seq",
            "CREATE TABLE txlog (id bigint PRIMARY KEY)",
            "CREATE TABLE kv (id int PRIMARY KEY, v int NOT NULL, note text)",
            "CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL)",
            "CREATE TABLE parent (id int PRIMARY KEY, name text NOT NULL)",
            "CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent, v int NOT NULL)",
            "CREATE TABLE moves (id int PRIMARY KEY, v text NOT NULL)",
            "CREATE TABLE bulk (id int PRIMARY KEY, v int NOT NULL)",
            "CREATE TABLE uniq (id int PRIMARY KEY, code text UNIQUE, v int NOT NULL)",
            "CREATE TABLE bag (a int, b text)",
            "ALTER TABLE bag REPLICA IDENTITY FULL"};
    static final int CLIENTS = 4;
    static final int HOT_ROWS = 3;
    /** Rows of {@code uniq} per client; the client's token code moves among them. */
    private static final int UNIQ_ROWS = 4;
    /** Each client's keys are {@code (client + 1) * KEY_SPAN + n}: disjoint from the others'. */
    private static final int KEY_SPAN = 100_000;
    /** A key change moves a row this far: past every client's range. */
    private static final int MOVED = 1_000_000;
    private static final int BULK_KEYS = 100;
    private static final int LARGE_ROWS = 300;
    private static final int BAG_VALUES = 5;
    private static final String TXLOG = "INSERT INTO txlog VALUES (nextval('txlog_seq'))";

    private final PgCluster root;
    private final String db;
    private final long seed;
    private final List<Thread> threads = new ArrayList<>();
    private final Queue<Throwable> errors = new ConcurrentLinkedQueue<>();
    private final Map<String, AtomicLong> transactions = new ConcurrentHashMap<>();
    private volatile boolean stop;

    ConflictWorkload(PgCluster root, String db, long seed) {
        this.root = root;
        this.db = db;
        this.seed = seed;
    }

    /** Rows both sides start with: the hot counters and each client's {@code uniq} rows. */
    static String[] seed() {
        return new String[] {
                "INSERT INTO counters SELECT g, 0 FROM generate_series(1, " + HOT_ROWS + ") g",
                "INSERT INTO uniq SELECT (c + 1) * " + KEY_SPAN + " + j, CASE WHEN j = 0 THEN 'token-' || c END, 0"
                        + " FROM generate_series(0, " + (CLIENTS - 1) + ") c, generate_series(0, " + (UNIQ_ROWS - 1) + ") j"};
    }

    /** A digest per table (row count, md5 of the ordered rows' text): equal digests, equal content. */
    static String digestSql() {
        return TABLES.stream()
                .map(t -> "SELECT '" + t + "', count(*), md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), ''))"
                        + " FROM " + t + " r")
                .collect(Collectors.joining(" UNION ALL ", "", " ORDER BY 1"));
    }

    void start() {
        for (int i = 0; i < CLIENTS; i++) {
            Thread thread = new Thread(new Client(i, new Random(seed + i)), "conflict-client-" + i);
            thread.setDaemon(true);
            threads.add(thread);
            thread.start();
        }
    }

    /** Stops the clients, waits for them (bounded) and throws the first error any of them had. */
    void stop() throws InterruptedException {
        halt();
        for (Thread thread : threads) {
            if (thread.isAlive()) {
                throw new AssertionError(thread.getName() + " did not stop within 30 s");
            }
        }
        checkErrors();
    }

    /** Stops without judging: for finally blocks. */
    void halt() throws InterruptedException {
        stop = true;
        for (Thread thread : threads) {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        }
    }

    boolean failed() {
        return !errors.isEmpty();
    }

    void checkErrors() {
        if (!errors.isEmpty()) {
            AssertionError error = new AssertionError("a root client failed: " + errors.peek(), errors.peek());
            errors.stream().skip(1).forEach(error::addSuppressed);
            throw error;
        }
    }

    /** The barrier: {@code TRUNCATE bulk} while the clients keep upserting into it. */
    void truncateBulk() throws SQLException {
        try (Connection connection = root.connect(db); Statement statement = connection.createStatement()) {
            connection.setAutoCommit(false);
            statement.execute("TRUNCATE bulk");
            statement.execute(TXLOG);
            connection.commit();
        }
        counted("truncate");
    }

    /**
     * A changed Relation while the clients keep writing {@code kv}: a column is added (the relay
     * adds it downstream under {@code schema.add-columns}), then one transaction sets it on every
     * row, the clients' rows included.
     */
    void addColumnToKv() throws SQLException {
        try (Connection connection = root.connect(db); Statement statement = connection.createStatement()) {
            statement.execute("ALTER TABLE kv ADD COLUMN extra int");
            connection.setAutoCommit(false);
            statement.execute("UPDATE kv SET extra = id % 7");
            statement.execute(TXLOG);
            connection.commit();
        }
        counted("relation-change");
    }

    /** Committed root transactions of one kind. */
    long transactions(String kind) {
        AtomicLong count = transactions.get(kind);
        return count == null ? 0 : count.get();
    }

    long totalTransactions() {
        return transactions.values().stream().mapToLong(AtomicLong::get).sum();
    }

    /** Committed transactions by kind, for the test's output. */
    String summary() {
        Map<String, Long> sorted = new TreeMap<>();
        transactions.forEach((kind, count) -> sorted.put(kind, count.get()));
        return totalTransactions() + " transactions " + sorted;
    }

    private void counted(String kind) {
        transactions.computeIfAbsent(kind, k -> new AtomicLong()).incrementAndGet();
    }

    /** One client: a connection, its own key range, and a seeded choice of what to do next. */
    private final class Client implements Runnable {

        private final int index;
        private final int base;
        private final Random random;
        private final List<Integer> kvKeys = new ArrayList<>();
        /** {parent id, child id} of live pairs. */
        private final List<int[]> families = new ArrayList<>();
        /** Rows of {@code moves} at their original id, ready to be swapped. */
        private final List<Integer> movable = new ArrayList<>();
        private int nextKey;
        private int tokenRow;
        private Connection connection;

        Client(int index, Random random) {
            this.index = index;
            this.base = (index + 1) * KEY_SPAN;
            this.random = random;
            this.nextKey = UNIQ_ROWS;
        }

        @Override
        public void run() {
            try (Connection c = root.connect(db)) {
                connection = c;
                connection.setAutoCommit(false);
                while (!stop && errors.isEmpty()) {
                    step();
                }
            } catch (Throwable t) {
                errors.add(t);
            }
        }

        private void step() throws SQLException {
            int pick = random.nextInt(22);
            if (random.nextInt(300) == 0) {
                large();
            } else if (pick < 6) {
                distinctKey();
            } else if (pick < 9) {
                hotRow();
            } else if (pick < 11) {
                family();
            } else if (pick < 12) {
                keyChange();
            } else if (pick < 13) {
                swap();
            } else if (pick < 15) {
                deleteAndReinsert();
            } else if (pick < 16) {
                multiTable();
            } else if (pick < 18) {
                bulk();
            } else if (pick < 20) {
                moveUniqueValue();
            } else {
                keyless();
            }
        }

        private void distinctKey() throws SQLException {
            if (!kvKeys.isEmpty() && random.nextInt(3) == 0) {
                int k = pick(kvKeys);
                expectRows(tx("distinct-update", "UPDATE kv SET v = v + 1 WHERE id = " + k), 1, "kv " + k);
                return;
            }
            int k = freshKey();
            tx("distinct-insert", "INSERT INTO kv VALUES (" + k + ", 0, 'c" + index + "')");
            kvKeys.add(k);
        }

        /**
         * More changes than the relay's apply.group-changes (100 here): parallel apply streams
         * such a transaction to one lane instead of holding it, as a barrier.
         */
        private void large() throws SQLException {
            int first = freshKey();
            for (int i = 1; i < LARGE_ROWS; i++) {
                freshKey();
            }
            tx("large", "INSERT INTO kv SELECT g, 0, 'large' FROM generate_series(" + first + ", "
                    + (first + LARGE_ROWS - 1) + ") g", "UPDATE counters SET n = n + 1 WHERE id = 1");
            for (int k = first; k < first + LARGE_ROWS; k += 10) {
                kvKeys.add(k);
            }
        }

        private void hotRow() throws SQLException {
            int id = 1 + random.nextInt(HOT_ROWS);
            expectRows(tx("hot-row", "UPDATE counters SET n = n + 1 WHERE id = " + id), 1, "counter " + id);
        }

        /** Parent, then child in the very next transaction; later the pair goes, or the child moves. */
        private void family() throws SQLException {
            int parent = freshKey();
            int child = freshKey();
            tx("fk-parent-insert", "INSERT INTO parent VALUES (" + parent + ", 'p')");
            tx("fk-child-insert", "INSERT INTO child VALUES (" + child + ", " + parent + ", 0)");
            families.add(new int[] {parent, child});
            if (families.size() < 3) {
                return;
            }
            int[] old = families.get(random.nextInt(families.size() - 1));
            if (random.nextBoolean()) {
                expectRows(tx("fk-child-delete", "DELETE FROM child WHERE id = " + old[1]), 1, "child " + old[1]);
                expectRows(tx("fk-parent-delete", "DELETE FROM parent WHERE id = " + old[0]), 1, "parent " + old[0]);
                families.remove(old);
            } else {
                int adoptive = freshKey();
                tx("fk-parent-insert", "INSERT INTO parent VALUES (" + adoptive + ", 'adoptive')");
                expectRows(tx("fk-child-move", "UPDATE child SET parent_id = " + adoptive + ", v = v + 1 WHERE id = " + old[1]),
                        1, "child " + old[1]);
                expectRows(tx("fk-parent-delete", "DELETE FROM parent WHERE id = " + old[0]), 1, "parent " + old[0]);
                old[0] = adoptive;
            }
        }

        /** The key moves away, and the next transaction reuses the old key. */
        private void keyChange() throws SQLException {
            int k = freshKey();
            tx("pk-insert", "INSERT INTO moves VALUES (" + k + ", 'first')");
            expectRows(tx("pk-change", "UPDATE moves SET id = id + " + MOVED + " WHERE id = " + k), 1, "moves " + k);
            tx("pk-reuse", "INSERT INTO moves VALUES (" + k + ", 'reused')");
            movable.add(k);
        }

        /** Two rows trade keys through a temporary one, then the next transaction updates one of them. */
        private void swap() throws SQLException {
            if (movable.size() < 2) {
                keyChange();
                return;
            }
            int a = pick(movable);
            int b = pick(movable);
            if (a == b) {
                return;
            }
            String[] steps = {
                    "UPDATE moves SET id = " + (-a) + " WHERE id = " + a,
                    "UPDATE moves SET id = " + a + " WHERE id = " + b,
                    "UPDATE moves SET id = " + b + " WHERE id = " + (-a)};
            if (random.nextBoolean()) {
                int[] rows = tx("pk-swap", steps);
                for (int i = 0; i < steps.length; i++) {
                    expectRows(rows, i, 1, steps[i]);
                }
            } else {
                for (String step : steps) {
                    expectRows(tx("pk-swap-step", step), 1, step);
                }
            }
            expectRows(tx("pk-swap-follow", "UPDATE moves SET v = v || '!' WHERE id = " + a), 1, "moves " + a);
        }

        private void deleteAndReinsert() throws SQLException {
            if (kvKeys.isEmpty()) {
                distinctKey();
                return;
            }
            int k = pick(kvKeys);
            expectRows(tx("delete", "DELETE FROM kv WHERE id = " + k), 1, "kv " + k);
            tx("reinsert", "INSERT INTO kv VALUES (" + k + ", " + random.nextInt(1000) + ", 'again')");
        }

        /** Six tables in one transaction, two hot rows among them. */
        private void multiTable() throws SQLException {
            int k = freshKey();
            int parent = freshKey();
            int child = freshKey();
            tx("multi-table",
                    "UPDATE counters SET n = n + 1 WHERE id = 1",
                    "UPDATE counters SET n = n + 10 WHERE id = " + HOT_ROWS,
                    "INSERT INTO kv VALUES (" + k + ", 1, 'multi')",
                    "INSERT INTO parent VALUES (" + parent + ", 'multi')",
                    "INSERT INTO child VALUES (" + child + ", " + parent + ", 0)",
                    "UPDATE uniq SET v = v + 1 WHERE id = " + base,
                    "INSERT INTO bag VALUES (" + index + ", 'multi')");
            kvKeys.add(k);
            families.add(new int[] {parent, child});
        }

        /** Alone in its transaction: a TRUNCATE waiting for it never waits for anything else. */
        private void bulk() throws SQLException {
            int id = base + random.nextInt(BULK_KEYS);
            tx("bulk-upsert", "INSERT INTO bulk VALUES (" + id + ", 1) ON CONFLICT (id) DO UPDATE SET v = bulk.v + 1");
        }

        /** The token leaves its row in one transaction and lands on another row in the next. */
        private void moveUniqueValue() throws SQLException {
            int from = base + tokenRow;
            int next = (tokenRow + 1 + random.nextInt(UNIQ_ROWS - 1)) % UNIQ_ROWS;
            String freed = random.nextBoolean() ? "NULL" : "'spent-" + index + "-" + freshKey() + "'";
            expectRows(tx("unique-release", "UPDATE uniq SET code = " + freed + ", v = v + 1 WHERE id = " + from), 1, "uniq " + from);
            expectRows(tx("unique-take", "UPDATE uniq SET code = 'token-" + index + "' WHERE id = " + (base + next)), 1,
                    "uniq " + (base + next));
            tokenRow = next;
        }

        /** Duplicates in a table without key: inserted in pairs, updated and deleted one at a time. */
        private void keyless() throws SQLException {
            int a = random.nextInt(BAG_VALUES);
            switch (random.nextInt(3)) {
                case 0 -> tx("bag-insert", "INSERT INTO bag VALUES (" + a + ", 'dup'), (" + a + ", 'dup')");
                // Another client may have changed the picked row meanwhile: then no row is hit, which is fine.
                case 1 -> tx("bag-update", "UPDATE bag SET b = 'updated' WHERE ctid = "
                        + "(SELECT ctid FROM bag WHERE a = " + a + " AND b = 'dup' LIMIT 1)");
                default -> tx("bag-delete", "DELETE FROM bag WHERE ctid = "
                        + "(SELECT ctid FROM bag WHERE a = " + a + " AND b = 'updated' LIMIT 1)");
            }
        }

        /** Runs the statements and the txlog insert as one transaction; returns the row counts. */
        private int[] tx(String kind, String... statements) throws SQLException {
            try (Statement statement = connection.createStatement()) {
                for (String sql : statements) {
                    statement.addBatch(sql);
                }
                statement.addBatch(TXLOG);
                int[] rows = statement.executeBatch();
                connection.commit();
                counted(kind);
                return rows;
            } catch (SQLException e) {
                connection.rollback();
                throw e.getNextException() == null ? e : new SQLException(e.getMessage(), e.getNextException());
            }
        }

        private int freshKey() {
            return base + nextKey++;
        }

        private int pick(List<Integer> keys) {
            return keys.get(random.nextInt(keys.size()));
        }

        private void expectRows(int[] rows, int expected, String what) {
            expectRows(rows, 0, expected, what);
        }

        /** The workload's own bookkeeping must be right, or the test would test less than it says. */
        private void expectRows(int[] rows, int statement, int expected, String what) {
            if (rows[statement] != expected) {
                throw new IllegalStateException("client " + index + ": " + what + " hit " + rows[statement]
                        + " rows on the root, expected " + expected);
            }
        }
    }
}
