package io.pgrelay.relay;

import io.pgrelay.apply.ApplyException;
import io.pgrelay.apply.ApplyListener;
import io.pgrelay.apply.ApplyWorker;
import io.pgrelay.apply.ChangeApplier;
import io.pgrelay.checkpoint.Checkpoint;
import io.pgrelay.checkpoint.CheckpointStore;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.decode.PgOutputDecoder;
import io.pgrelay.decode.PgOutputMessage;
import io.pgrelay.source.StreamPositions;
import io.pgrelay.source.StreamReader;
import io.pgrelay.source.UpstreamConnector;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import javax.sql.DataSource;
import org.postgresql.replication.PGReplicationStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connected lifetime of the relay: read the checkpoint, start the upstream stream there,
 * and run the stream thread and the apply thread until a stop or a failure. A new session
 * starts from the downstream checkpoint again, so whatever a failed session left uncommitted is
 * simply streamed again.
 *
 * <p>Threads: the caller's thread sets up and tears down; {@code pgrelay-stream} owns the
 * replication stream ({@link StreamReader}); {@code pgrelay-apply} owns the downstream
 * connection ({@link ApplyWorker}). The first failure wins and ends both.
 */
final class RelaySession {

    private static final Logger log = LoggerFactory.getLogger(RelaySession.class);
    /** Messages between the stream and apply threads; bounds memory when apply is slower. */
    static final int QUEUE_CAPACITY = 8192;

    private final RelayConfig config;
    private final DataSource downstream;
    private final BooleanSupplier stopRequested;
    private final ApplyListener listener;
    private final AtomicReference<SessionFailure> failure = new AtomicReference<>();
    private volatile boolean applyDone;
    private volatile boolean streamDone;
    private volatile boolean streaming;

    RelaySession(RelayConfig config, DataSource downstream, BooleanSupplier stopRequested, ApplyListener listener) {
        this.config = config;
        this.downstream = downstream;
        this.stopRequested = stopRequested;
        this.listener = listener;
    }

    /** True once the stream runs: the upstream slot exists and the downstream took a connection. */
    boolean isStreaming() {
        return streaming;
    }

    /** Returns after a clean stop; throws the first failure otherwise. */
    void run() throws SessionFailure, InterruptedException {
        CheckpointStore store = new CheckpointStore(config.relayName(), config.upstreamSlot());
        ChangeApplier applier = onDownstream(() -> openApplier(store));
        try (ChangeApplier owned = applier) {
            Checkpoint start = applier.durable();
            UpstreamConnector connector = new UpstreamConnector(config);
            Connection replication = onUpstream(connector::connect);
            try (replication) {
                PGReplicationStream stream = onUpstream(() -> {
                    connector.checkPublications(replication);
                    connector.ensureSlot(replication);
                    return connector.start(replication, start.endLsn());
                });
                log.info("streaming slot {} from {} (checkpoint {})", config.upstreamSlot(),
                        config.upstream(), start.isNone() ? "none: slot's confirmed position" : start.endLsn().asString());
                runThreads(stream, applier, new StreamPositions(start));
            } catch (SQLException e) {
                log.debug("closing the upstream connection failed: {}", e.getMessage());
            }
        } catch (SQLException e) {
            log.debug("closing the downstream connection failed: {}", e.getMessage());
        } finally {
            streaming = false;
        }
        SessionFailure first = failure.get();
        if (first != null) {
            throw first;
        }
    }

    private ChangeApplier openApplier(CheckpointStore store) throws SQLException {
        Connection connection = downstream.getConnection();
        try {
            store.ensureTable(connection);
            Checkpoint checkpoint = store.read(connection); // autocommit: the pool's default
            return new ChangeApplier(connection, store, checkpoint, config.conflictPolicy(),
                    config.applyBatchSize(), listener);
        } catch (SQLException | RuntimeException e) {
            connection.close();
            throw e;
        }
    }

    private void runThreads(PGReplicationStream stream, ChangeApplier applier, StreamPositions positions)
            throws InterruptedException {
        BlockingQueue<PgOutputMessage> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
        StreamReader reader = new StreamReader(stream, new PgOutputDecoder(), queue, positions,
                config.statusInterval().toNanos());
        ApplyWorker worker = new ApplyWorker(applier, queue, positions, config.applyGroupChanges(),
                config.statusInterval(), config.shutdownTimeout().dividedBy(2));

        Thread streamThread = thread("pgrelay-stream", Side.UPSTREAM, () -> {
            try {
                reader.run(() -> !applyDone && failure.get() == null);
            } finally {
                streamDone = true;
                closeQuietly(stream);
            }
        });
        Thread applyThread = thread("pgrelay-apply", Side.DOWNSTREAM, () -> {
            try {
                worker.run(() -> stopRequested.getAsBoolean() || failure.get() != null, () -> !streamDone);
            } catch (ApplyException e) {
                throw e;
            } catch (Exception | AssertionError e) {
                throw applier.isConnectionValid() ? e : new SQLException("downstream connection lost: " + e.getMessage(),
                        "08006", e);
            } finally {
                applyDone = true;
            }
        });
        streaming = true;
        streamThread.start();
        applyThread.start();
        applyThread.join();
        streamThread.join();
    }

    @FunctionalInterface
    private interface Body {
        void run() throws Throwable;
    }

    private Thread thread(String name, Side side, Body body) {
        Thread thread = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable t) {
                failure.compareAndSet(null, new SessionFailure(side, t));
            }
        }, name);
        thread.setDaemon(true);
        return thread;
    }

    @FunctionalInterface
    private interface Step<T> {
        T call() throws Exception;
    }

    private static <T> T onUpstream(Step<T> step) throws SessionFailure {
        return on(Side.UPSTREAM, step);
    }

    private static <T> T onDownstream(Step<T> step) throws SessionFailure {
        return on(Side.DOWNSTREAM, step);
    }

    private static <T> T on(Side side, Step<T> step) throws SessionFailure {
        try {
            return step.call();
        } catch (Exception e) {
            throw new SessionFailure(side, e);
        }
    }

    private static void closeQuietly(PGReplicationStream stream) {
        try {
            stream.close();
        } catch (SQLException | RuntimeException e) {
            log.debug("closing the replication stream failed: {}", e.getMessage());
        }
    }
}
