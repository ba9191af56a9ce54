package io.pgrelay.demo;

import io.pgrelay.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Writes to the root from a few threads, each with its own connection: transfers between
 * accounts (two updates and an insert), batches of events (inserts of jsonb and arrays), and
 * clean-ups of old events (deletes), each in its own transaction.
 */
final class Workload implements AutoCloseable {

    static final int ACCOUNTS = 1000;
    private static final String[] KINDS = {"login", "purchase", "refund", "signup", "logout"};

    private final EmbeddedPostgres root;
    private final int writers;
    private final AtomicLong rows = new AtomicLong();
    private final AtomicLong transactions = new AtomicLong();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean stop;

    Workload(EmbeddedPostgres root, int writers) {
        this.root = root;
        this.writers = writers;
    }

    /** The accounts, in one transaction: the first change every tier receives. */
    void seed() throws SQLException {
        try (Connection connection = root.connect(DemoSchema.DATABASE);
             PreparedStatement insert = connection.prepareStatement(
                     "INSERT INTO accounts (id, owner, balance) SELECT g, 'owner ' || g, 1000 FROM generate_series(1, ?) g")) {
            insert.setInt(1, ACCOUNTS);
            rows.addAndGet(insert.executeUpdate());
            transactions.incrementAndGet();
        }
    }

    void start() {
        for (int i = 0; i < writers; i++) {
            Thread thread = new Thread(this::writeUntilStopped, "pgrelay-demo-writer-" + (i + 1));
            thread.setDaemon(true);
            threads.add(thread);
            thread.start();
        }
    }

    /** Rows inserted, updated or deleted on the root so far. */
    long rows() {
        return rows.get();
    }

    long transactions() {
        return transactions.get();
    }

    /** The first error of any writer, or null. */
    Throwable failure() {
        return failure.get();
    }

    private void writeUntilStopped() {
        try (Connection connection = root.connect(DemoSchema.DATABASE);
             Statements statements = new Statements(connection)) {
            connection.setAutoCommit(false);
            while (!stop) {
                int changed = statements.randomTransaction(ThreadLocalRandom.current());
                connection.commit();
                rows.addAndGet(changed);
                transactions.incrementAndGet();
            }
        } catch (SQLException | RuntimeException e) {
            if (!stop) {
                failure.compareAndSet(null, e);
            }
        }
    }

    /** One writer's prepared statements. */
    private static final class Statements implements AutoCloseable {
        private final PreparedStatement debit;
        private final PreparedStatement credit;
        private final PreparedStatement transfer;
        private final PreparedStatement events;
        private final PreparedStatement cleanUp;

        Statements(Connection connection) throws SQLException {
            debit = connection.prepareStatement(
                    "UPDATE accounts SET balance = balance - ?, updated_at = now() WHERE id = ?");
            credit = connection.prepareStatement(
                    "UPDATE accounts SET balance = balance + ?, updated_at = now() WHERE id = ?");
            transfer = connection.prepareStatement(
                    "INSERT INTO transfers (from_account, to_account, amount) VALUES (?, ?, ?)");
            events = connection.prepareStatement(
                    "INSERT INTO events (id, kind, payload, tags) SELECT gen_random_uuid(), ?,"
                            + " jsonb_build_object('account', 1 + (random() * 999)::int, 'n', g, 'ok', g % 3 <> 0),"
                            + " ARRAY['demo', 'batch-' || g] FROM generate_series(1, ?) g");
            cleanUp = connection.prepareStatement(
                    "DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY at LIMIT ? FOR UPDATE SKIP LOCKED)");
        }

        /** Runs the statements of one transaction (not committed); returns the rows changed. */
        int randomTransaction(ThreadLocalRandom random) throws SQLException {
            int dice = random.nextInt(10);
            if (dice < 7) {
                return transfer(random);
            }
            if (dice < 9) {
                events.setString(1, KINDS[random.nextInt(KINDS.length)]);
                events.setInt(2, 5 + random.nextInt(10));
                return events.executeUpdate();
            }
            cleanUp.setInt(1, 5);
            return cleanUp.executeUpdate();
        }

        /** Debit and credit in id order, so that concurrent transfers never deadlock. */
        private int transfer(ThreadLocalRandom random) throws SQLException {
            int from = 1 + random.nextInt(ACCOUNTS);
            int to = 1 + random.nextInt(ACCOUNTS);
            if (from == to) {
                to = to % ACCOUNTS + 1;
            }
            java.math.BigDecimal amount = java.math.BigDecimal.valueOf(1 + random.nextInt(50_000), 2);
            PreparedStatement first = from < to ? debit : credit;
            PreparedStatement second = from < to ? credit : debit;
            first.setBigDecimal(1, amount);
            first.setInt(2, Math.min(from, to));
            second.setBigDecimal(1, amount);
            second.setInt(2, Math.max(from, to));
            int changed = first.executeUpdate() + second.executeUpdate();
            transfer.setInt(1, from);
            transfer.setInt(2, to);
            transfer.setBigDecimal(3, amount);
            return changed + transfer.executeUpdate();
        }

        @Override
        public void close() throws SQLException {
            for (PreparedStatement statement : List.of(debit, credit, transfer, events, cleanUp)) {
                statement.close();
            }
        }
    }

    /** Stops the writers after their current transaction and waits for them. */
    @Override
    public void close() throws InterruptedException {
        stop = true;
        for (Thread thread : threads) {
            thread.join(10_000);
        }
    }
}
