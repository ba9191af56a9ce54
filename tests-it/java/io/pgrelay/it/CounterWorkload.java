package io.pgrelay.it;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A workload whose exact end state is known, so a relay that loses or doubles a transaction is
 * caught: every transaction increments counters ({@code counters.n}: a lost or doubled UPDATE
 * shows as a wrong sum) and appends rows to the insert-only {@code events} log with the next ids
 * of a client-side sequence (gapless; a doubled INSERT hits the primary key). Single-row,
 * multi-statement (2–9 rows) and large (2000 increments, 20 events) transactions are mixed; a
 * test can ask for a large one to aim a fault at its apply.
 *
 * <p>Survives its server restarting under it: when the connection breaks, it reconnects and
 * finds out whether the transaction in flight committed by looking for its first event id,
 * which every transaction inserts, so the expected state stays exact across restarts.
 *
 * <p>Run it on its own thread ({@link #start()}), {@link #stop()} it, then read the expected
 * state. {@link #SCHEMA} and {@link #seed()} create the tables on each side.
 */
public final class CounterWorkload implements Runnable {

    public static final int COUNTERS = 20;
    public static final int LARGE_TRANSACTION_INCREMENTS = 2000;
    public static final String[] SCHEMA = {
            "CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL)",
            "CREATE TABLE events (id bigint PRIMARY KEY, counter_id int, at timestamptz DEFAULT now())"};
    public static final String COUNTERS_SQL = "SELECT id, n FROM counters ORDER BY id";
    public static final String EVENTS_SQL = "SELECT count(*), min(id), max(id), sum(id) FROM events";
    private static final Duration RECONNECT_FOR = Duration.ofSeconds(90);

    /** The rows of {@code counters} before any transaction: all zero. */
    public static String seed() {
        return "INSERT INTO counters SELECT g, 0 FROM generate_series(1, " + COUNTERS + ") g";
    }

    /** Opens a connection to the database the workload writes. */
    @FunctionalInterface
    public interface Connector {
        Connection connect() throws SQLException;
    }

    private final Connector connector;
    private final Random random;
    private final Queue<Throwable> errors = new ConcurrentLinkedQueue<>();
    private final AtomicLong largeCommits = new AtomicLong();
    private final long[] expected = new long[COUNTERS + 1];
    private final Thread thread;
    private volatile boolean largeRequested;
    private volatile boolean stop;
    /** Written by the workload thread only; read after {@link #stop()} joined it. */
    private long nextEventId = 1;
    private long transactions;
    private long multiTransactions;
    private long largeTransactions;
    private long increments;
    private long reconnects;
    private long inDoubtCommitted;
    private long inDoubtRolledBack;

    public CounterWorkload(Connector connector, Random random) {
        this.connector = connector;
        this.random = random;
        this.thread = new Thread(this, "counter-workload");
        thread.setDaemon(true);
    }

    /** Writes into database {@code db} of {@code cluster}. */
    public static CounterWorkload on(PgCluster cluster, String db, Random random) {
        return new CounterWorkload(() -> cluster.connect(db), random);
    }

    public CounterWorkload start() {
        thread.start();
        return this;
    }

    /** Stops the workload and waits (bounded) for it; throws the first error it had. */
    public void stop() throws InterruptedException {
        stop = true;
        thread.join(TimeUnit.SECONDS.toMillis(120));
        if (thread.isAlive()) {
            throw new AssertionError("the workload did not stop within 120 s");
        }
        checkErrors();
    }

    /** Stops without judging: for finally blocks. */
    public void halt() throws InterruptedException {
        stop = true;
        thread.join(TimeUnit.SECONDS.toMillis(30));
    }

    /** Throws the workload's first error, if any. */
    public void checkErrors() {
        if (!errors.isEmpty()) {
            AssertionError error = new AssertionError("the workload failed: " + errors.peek(), errors.peek());
            errors.stream().skip(1).forEach(error::addSuppressed);
            throw error;
        }
    }

    public boolean failed() {
        return !errors.isEmpty();
    }

    /** Asks for a large transaction now and waits (bounded) until one has committed. */
    public void awaitLargeCommit(Duration timeout) throws InterruptedException {
        long before = largeCommits.get();
        largeRequested = true;
        long deadline = System.nanoTime() + timeout.toNanos();
        while (largeCommits.get() == before && System.nanoTime() < deadline && errors.isEmpty()) {
            Thread.sleep(2);
        }
    }

    // ------------------------------------------------------------ after stop(): the expected state

    /** Event ids 1..this were committed upstream. */
    public long events() {
        return nextEventId - 1;
    }

    /** What {@code n} of counter {@code id} must be. */
    public long expected(int id) {
        return expected[id];
    }

    public long transactions() {
        return transactions;
    }

    public long multiTransactions() {
        return multiTransactions;
    }

    public long largeTransactions() {
        return largeTransactions;
    }

    public long increments() {
        return increments;
    }

    /** Times the connection broke and was opened again. */
    public long reconnects() {
        return reconnects;
    }

    /** A one-line account of what ran. */
    public String summary() {
        return "transactions=" + transactions + " (multi-statement " + multiTransactions + ", large "
                + largeTransactions + ") counter increments=" + increments + " events=" + events()
                + " reconnects=" + reconnects + " (in-doubt commits found committed " + inDoubtCommitted
                + ", rolled back " + inDoubtRolledBack + ")";
    }

    // ------------------------------------------------------------ the loop

    @Override
    public void run() {
        long deadline = 0;
        while (!stop) {
            try (Connection connection = connector.connect()) {
                deadline = 0;
                runOn(connection);
            } catch (SQLException e) {
                // The server restarts under us on purpose: reconnect, for a while.
                if (deadline == 0) {
                    deadline = System.nanoTime() + RECONNECT_FOR.toNanos();
                } else if (System.nanoTime() > deadline) {
                    errors.add(new AssertionError("the workload could not reconnect for " + RECONNECT_FOR.toSeconds()
                            + " s", e));
                    return;
                }
                sleep(100);
            } catch (Throwable t) {
                errors.add(t);
                return;
            }
        }
    }

    private void runOn(Connection connection) throws SQLException, InterruptedException {
        connection.setAutoCommit(false);
        try (PreparedStatement increment = connection.prepareStatement("UPDATE counters SET n = n + 1 WHERE id = ?");
             PreparedStatement event = connection.prepareStatement("INSERT INTO events (id, counter_id) VALUES (?, ?)")) {
            long nextLarge = System.nanoTime() + millis(1000 + random.nextInt(1500));
            while (!stop) {
                long[] delta = new long[COUNTERS + 1];
                long firstEvent = nextEventId;
                boolean large = largeRequested || System.nanoTime() >= nextLarge;
                long events;
                try {
                    if (large) {
                        largeRequested = false;
                        events = large(increment, event, delta, firstEvent);
                        nextLarge = System.nanoTime() + millis(1500 + random.nextInt(2000));
                    } else if (random.nextInt(5) == 0) {
                        events = 2 + random.nextInt(8);
                        for (int i = 0; i < events; i++) {
                            int id = randomCounter();
                            increment(increment, id, delta);
                            event(event, firstEvent + i, id);
                        }
                    } else {
                        int id = randomCounter();
                        increment(increment, id, delta);
                        event(event, firstEvent, id);
                        events = 1;
                    }
                    connection.commit();
                } catch (SQLException | AssertionError thrown) {
                    SQLException e = connectionFailure(connection, thrown);
                    if (!committedAfterAll(firstEvent)) {
                        reconnects++;
                        throw e;
                    }
                    reconnects++;
                    counted(delta, firstEvent, large, events(firstEvent));
                    throw e;
                }
                counted(delta, firstEvent, large, events);
                if (transactions % 4 == 0) {
                    Thread.sleep(1);
                }
            }
        }
    }

    /**
     * pgjdbc can report a connection that broke mid-batch as an AssertionError of its own (with
     * assertions on, as in tests): on a dead connection that is a connection failure like any
     * other; on a live one it is a real error and goes up.
     */
    private static SQLException connectionFailure(Connection connection, Throwable thrown) {
        if (thrown instanceof SQLException e) {
            return e;
        }
        boolean alive;
        try {
            alive = connection.isValid(2);
        } catch (SQLException e) {
            alive = false;
        }
        if (alive) {
            throw (AssertionError) thrown;
        }
        return new SQLException("connection lost: " + thrown.getMessage(), "08006", thrown);
    }

    /** Only a committed transaction is part of the expected state. */
    private void counted(long[] delta, long firstEvent, boolean large, long events) {
        for (int id = 1; id <= COUNTERS; id++) {
            expected[id] += delta[id];
            increments += delta[id];
        }
        nextEventId = firstEvent + events;
        transactions++;
        if (large) {
            largeTransactions++;
            largeCommits.incrementAndGet();
        } else if (events > 1) {
            multiTransactions++;
        }
    }

    /**
     * After a failure during the transaction: did it commit (the COMMIT may have gone through
     * just before the connection broke)? Its first event tells, on a new connection.
     */
    private boolean committedAfterAll(long firstEvent) throws InterruptedException {
        long deadline = System.nanoTime() + RECONNECT_FOR.toNanos();
        while (true) {
            try (Connection check = connector.connect();
                 PreparedStatement query = check.prepareStatement("SELECT count(*) FROM events WHERE id = ?")) {
                query.setLong(1, firstEvent);
                try (ResultSet rs = query.executeQuery()) {
                    rs.next();
                    boolean committed = rs.getLong(1) == 1;
                    if (committed) {
                        inDoubtCommitted++;
                    } else {
                        inDoubtRolledBack++;
                    }
                    return committed;
                }
            } catch (SQLException e) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("cannot find out whether event " + firstEvent + " committed", e);
                }
                Thread.sleep(100);
            }
        }
    }

    /** The events a committed in-doubt transaction inserted: consecutive ids from its first. */
    private long events(long firstEvent) throws InterruptedException {
        long deadline = System.nanoTime() + RECONNECT_FOR.toNanos();
        while (true) {
            try (Connection check = connector.connect();
                 PreparedStatement query = check.prepareStatement("SELECT count(*) FROM events WHERE id >= ?")) {
                query.setLong(1, firstEvent);
                try (ResultSet rs = query.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            } catch (SQLException e) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("cannot count the events from " + firstEvent, e);
                }
                Thread.sleep(100);
            }
        }
    }

    /** 2000 increments in one transaction, with an event after every 100; returns the events appended. */
    private long large(PreparedStatement increment, PreparedStatement event, long[] delta, long eventId)
            throws SQLException {
        long events = 0;
        for (int i = 1; i <= LARGE_TRANSACTION_INCREMENTS; i++) {
            int id = randomCounter();
            increment.setInt(1, id);
            increment.addBatch();
            delta[id]++;
            if (i % 100 == 0) {
                increment.executeBatch();
                event.setLong(1, eventId + events);
                event.setInt(2, id);
                event.executeUpdate();
                events++;
            }
        }
        return events;
    }

    private void increment(PreparedStatement increment, int id, long[] delta) throws SQLException {
        increment.setInt(1, id);
        if (increment.executeUpdate() != 1) {
            throw new IllegalStateException("counter " + id + " missing upstream");
        }
        delta[id]++;
    }

    private void event(PreparedStatement event, long id, int counter) throws SQLException {
        event.setLong(1, id);
        event.setInt(2, counter);
        event.executeUpdate();
    }

    private int randomCounter() {
        return 1 + random.nextInt(COUNTERS);
    }

    private static long millis(long millis) {
        return TimeUnit.MILLISECONDS.toNanos(millis);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
