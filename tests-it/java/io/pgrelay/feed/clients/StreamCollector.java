package io.pgrelay.feed.clients;

import static org.junit.jupiter.api.Assertions.fail;

import io.pgrelay.decode.PgOutputDecoder;
import io.pgrelay.decode.PgOutputMessage;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;

/**
 * A plain pgjdbc logical replication client of a feed, reading on its own thread.
 *
 * <p>As DESIGN.md/CONCURRENCY.md ask, one thread owns the {@link PGReplicationStream}: every
 * read, status update and the close happen on it; the test thread hands it work through
 * {@link #onStreamThread} and reads what it collected. A failure of that thread is kept and
 * rethrown by {@link #assertHealthy()}, every wait, and {@link #close()}, so a client that died in
 * the background never leaves a test green.
 */
final class StreamCollector implements AutoCloseable {

    private final String slot;
    private final Connection connection;
    private final PGReplicationStream stream;
    private final Thread thread;
    private final PgOutputDecoder decoder = new PgOutputDecoder();
    private final List<Msg> received = new ArrayList<>();
    private final List<Long> receivedAtNanos = new ArrayList<>();
    private final BlockingQueue<FutureTask<?>> tasks = new LinkedBlockingQueue<>();
    private volatile Throwable failure;
    private volatile boolean stopping;
    private volatile LogSequenceNumber lastReceiveLsn = LogSequenceNumber.INVALID_LSN;
    private boolean closed;

    private StreamCollector(String slot, Connection connection, PGReplicationStream stream) {
        this.slot = slot;
        this.connection = connection;
        this.stream = stream;
        this.thread = new Thread(this::loop, "it-feed-client-" + slot);
        this.thread.setDaemon(true);
    }

    /** Properties of a pgjdbc replication connection, as a plain client would set them. */
    static Properties replicationProperties(String user, String password) {
        Properties p = new Properties();
        PGProperty.USER.set(p, user);
        PGProperty.PASSWORD.set(p, password);
        PGProperty.REPLICATION.set(p, "database");
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(p, "10");
        PGProperty.PREFER_QUERY_MODE.set(p, "simple");
        PGProperty.CONNECT_TIMEOUT.set(p, 10);
        PGProperty.LOGIN_TIMEOUT.set(p, 10);
        PGProperty.APPLICATION_NAME.set(p, "pgrelay-it-client");
        return p;
    }

    static Connection connect(FeedFixture fixture) throws SQLException {
        return DriverManager.getConnection(fixture.feedJdbcUrl(),
                replicationProperties(FeedFixture.FEED_USER, FeedFixture.FEED_PASSWORD));
    }

    /** Creates a (durable) feed slot through pgjdbc's API on its own connection. */
    static void createSlot(FeedFixture fixture, String slot) throws SQLException {
        try (Connection c = connect(fixture)) {
            c.unwrap(PGConnection.class).getReplicationAPI().createReplicationSlot().logical()
                    .withSlotName(slot).withOutputPlugin("pgoutput").make();
        }
    }

    /** Starts streaming {@code slot} from its confirmed position (start LSN 0/0) on a new connection. */
    static StreamCollector start(FeedFixture fixture, String slot, boolean automaticFlush) throws SQLException {
        return start(connect(fixture), fixture.publication, slot, automaticFlush);
    }

    /** Starts streaming on {@code connection}, which the collector then owns and closes. */
    static StreamCollector start(Connection connection, String publication, String slot, boolean automaticFlush)
            throws SQLException {
        try {
            PGReplicationStream stream = connection.unwrap(PGConnection.class).getReplicationAPI().replicationStream()
                    .logical()
                    .withSlotName(slot)
                    .withSlotOption("proto_version", "1")
                    .withSlotOption("publication_names", publication)
                    .withStatusInterval(1, TimeUnit.SECONDS)
                    .withAutomaticFlush(automaticFlush)
                    .start();
            StreamCollector collector = new StreamCollector(slot, connection, stream);
            collector.thread.start();
            return collector;
        } catch (SQLException | RuntimeException e) {
            connection.close();
            throw e;
        }
    }

    private void loop() {
        try {
            long idle = 0;
            while (!stopping) {
                FutureTask<?> task;
                while ((task = tasks.poll()) != null) {
                    task.run();
                }
                ByteBuffer data = stream.readPending();
                lastReceiveLsn = stream.getLastReceiveLSN();
                if (data == null) {
                    idle = Math.min(10, idle + 1);
                    Thread.sleep(idle);
                    continue;
                }
                idle = 0;
                byte[] raw = new byte[data.remaining()];
                data.duplicate().get(raw);
                PgOutputMessage message = decoder.decode(ByteBuffer.wrap(raw));
                synchronized (received) {
                    received.add(new Msg(stream.getLastReceiveLSN(), message, raw));
                    receivedAtNanos.add(System.nanoTime());
                }
            }
            stream.close();
        } catch (Throwable t) {
            failure = t;
        } finally {
            FutureTask<?> task;
            while ((task = tasks.poll()) != null) {
                task.cancel(false);
            }
            try {
                connection.close();
            } catch (SQLException e) {
                if (failure == null) {
                    failure = e;
                }
            }
        }
    }

    /** Runs {@code work} on the thread that owns the stream and waits for it. */
    <T> T onStreamThread(Callable<T> work) throws Exception {
        assertHealthy();
        FutureTask<T> task = new FutureTask<>(work);
        tasks.add(task);
        try {
            return task.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("replication client " + slot + ": " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            assertHealthy();
            throw new AssertionError("replication client " + slot + " did not run the task within 10 s", e);
        }
    }

    /** Confirms {@code lsn} as flushed and applied and sends a status update at once. */
    void confirm(LogSequenceNumber lsn) throws Exception {
        onStreamThread(() -> {
            stream.setFlushedLSN(lsn);
            stream.setAppliedLSN(lsn);
            stream.forceUpdateStatus();
            return null;
        });
    }

    /**
     * Sends a status update; pgjdbc sets its reply-requested bit, so a walsender answers with a
     * keepalive at once.
     */
    void requestKeepalive() throws Exception {
        onStreamThread(() -> {
            stream.forceUpdateStatus();
            return null;
        });
    }

    /** pgjdbc's last received position: the last XLogData start, or a keepalive's walEnd if higher. */
    LogSequenceNumber lastReceiveLsn() {
        return lastReceiveLsn;
    }

    List<Msg> messages() {
        synchronized (received) {
            return new ArrayList<>(received);
        }
    }

    /** System.nanoTime() when message {@code index} was read. */
    long receivedAt(int index) {
        synchronized (received) {
            return receivedAtNanos.get(index);
        }
    }

    int size() {
        synchronized (received) {
            return received.size();
        }
    }

    /** Waits for a message at index ≥ {@code from} matching {@code match}; returns its index. */
    int await(int from, Predicate<Msg> match, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int next = from;
        while (true) {
            assertHealthy();
            synchronized (received) {
                for (; next < received.size(); next++) {
                    if (match.test(received.get(next))) {
                        return next;
                    }
                }
            }
            if (System.nanoTime() > deadline) {
                fail("replication client " + slot + " did not receive " + what + " within " + timeout.toMillis()
                        + " ms; it has " + size() + " messages");
            }
            Thread.sleep(5);
        }
    }

    /** Waits for a Commit whose end LSN is {@code endLsn}; returns its index. */
    int awaitCommit(LogSequenceNumber endLsn, Duration timeout) throws InterruptedException {
        return await(0, m -> m.message() instanceof PgOutputMessage.Commit c && c.endLsn().equals(endLsn), timeout,
                "the Commit ending at " + endLsn.asString());
    }

    /** Waits for an Insert carrying {@code text} in some column; returns its index. */
    int awaitInsertedText(int from, String text, Duration timeout) throws InterruptedException {
        return await(from, m -> m.message() instanceof PgOutputMessage.Insert i && containsText(i, text), timeout,
                "an Insert of '" + text + "'");
    }

    private static boolean containsText(PgOutputMessage.Insert insert, String text) {
        for (int c = 0; c < insert.newTuple().size(); c++) {
            if (text.equals(insert.newTuple().text(c))) {
                return true;
            }
        }
        return false;
    }

    void assertHealthy() {
        Throwable t = failure;
        if (t != null) {
            throw new AssertionError("replication client " + slot + " failed in the background: " + t, t);
        }
        if (!thread.isAlive() && !stopping) {
            throw new AssertionError("replication client " + slot + " stopped reading");
        }
    }

    /** Ends streaming (CopyDone) and closes the connection; fails if the client failed meanwhile. */
    @Override
    public void close() throws Exception {
        if (closed) {
            return;
        }
        closed = true;
        stopping = true;
        thread.join(15_000);
        if (thread.isAlive()) {
            thread.interrupt();
            connection.close();
            throw new AssertionError("replication client " + slot + " did not end streaming within 15 s");
        }
        Throwable t = failure;
        if (t != null) {
            throw new AssertionError("replication client " + slot + " failed: " + t, t);
        }
    }
}
