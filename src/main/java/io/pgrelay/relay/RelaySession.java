package io.pgrelay.relay;

import io.pgrelay.apply.ApplyException;
import io.pgrelay.apply.ApplyListener;
import io.pgrelay.apply.ApplyWorker;
import io.pgrelay.apply.ChangeApplier;
import io.pgrelay.apply.CopyFilter;
import io.pgrelay.apply.DownstreamConstraints;
import io.pgrelay.apply.ParallelApplyWorker;
import io.pgrelay.checkpoint.Checkpoint;
import io.pgrelay.checkpoint.CheckpointStore;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.decode.PgOutputDecoder;
import io.pgrelay.decode.PgOutputMessage;
import io.pgrelay.feed.Feed;
import io.pgrelay.feed.SystemIdentity;
import io.pgrelay.schema.SchemaBootstrap;
import io.pgrelay.schema.SchemaDrift;
import io.pgrelay.schema.SourceSchema;
import io.pgrelay.schema.UpstreamSchema;
import io.pgrelay.source.ReceivedLog;
import io.pgrelay.sync.InitialSync;
import io.pgrelay.sync.RelayedTables;
import io.pgrelay.sync.ResumedTables;
import io.pgrelay.sync.SyncListener;
import org.postgresql.replication.LogSequenceNumber;
import io.pgrelay.source.StreamPositions;
import io.pgrelay.source.StreamReader;
import io.pgrelay.source.UpstreamConnector;
import io.pgrelay.source.UpstreamLiveness;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
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
    private final Feed feed;
    private final AtomicReference<SessionFailure> failure = new AtomicReference<>();
    private volatile boolean applyDone;
    private volatile boolean streamDone;
    private volatile boolean streaming;
    private volatile StreamPositions positions;

    RelaySession(RelayConfig config, DataSource downstream, Feed feed, BooleanSupplier stopRequested,
                 ApplyListener listener) {
        this.feed = feed;
        this.config = config;
        this.downstream = downstream;
        this.stopRequested = stopRequested;
        this.listener = listener;
    }

    /** This session's positions, once its checkpoint is read; else null. */
    StreamPositions positions() {
        return positions;
    }

    /** True once the stream runs: the upstream slot exists and the downstream took a connection. */
    boolean isStreaming() {
        return streaming;
    }

    /** Returns after a clean stop; throws the first failure otherwise. */
    void run() throws SessionFailure, InterruptedException {
        bootstrapSchema();
        if (config.syncInitial() && !initialSync()) {
            return; // stopped during the copy
        }
        CheckpointStore store = new CheckpointStore(config.relayName(), config.upstreamSlot());
        ChangeApplier applier = onDownstream(() -> openApplier(store));
        try (ChangeApplier owned = applier;
             ParallelApplyWorker parallel = config.applyWorkers() > 1 ? openParallel(applier, store) : null) {
            Checkpoint checkpoint = applier.durable();
            StreamPositions positions = new StreamPositions(checkpoint);
            this.positions = positions;
            ReceivedLog receivedLog = feed == null ? ReceivedLog.NONE
                    : onRelay(() -> feed.tap(() -> positions.durable().endLsn().asLong()));
            LogSequenceNumber start = startPosition(checkpoint);
            UpstreamConnector connector = new UpstreamConnector(config);
            Connection replication = onUpstream(connector::connect);
            try (replication) {
                PGReplicationStream stream = onUpstream(() -> {
                    learnIdentity(connector, replication);
                    connector.checkPublications(replication);
                    RelayedTables.refresh(replication, downstream, config);
                    connector.ensureSlot(replication);
                    return connector.start(replication, start);
                });
                log.info("streaming slot {} from {} at {} (checkpoint {}), applying {}", config.upstreamSlot(), config.upstream(),
                        start.asLong() == 0 ? "the slot's confirmed position" : start.asString(),
                        checkpoint.isNone() ? "none" : checkpoint.endLsn().asString(),
                        parallel == null ? "serially" : "on " + parallel.lanes() + " parallel connections");
                runThreads(stream, applier, parallel, positions, receivedLog, connector.liveness());
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

    /** Copies the tables before the first stream (README "Initial sync"); false when stopped meanwhile. */
    private boolean initialSync() throws SessionFailure {
        SyncListener events = listener instanceof SyncListener sync ? sync : new SyncListener() {};
        InitialSync sync = new InitialSync(config, downstream, events, stopRequested);
        return on(Side.RELAY, () -> sync.run(new UpstreamConnector(config)::connect));
    }

    /**
     * Where the upstream must resume: the checkpoint, or the changelog's end when the changelog
     * is behind it, so that neither misses a transaction; each skips what it already has.
     */
    private LogSequenceNumber startPosition(Checkpoint checkpoint) {
        long changelogEnd = feed == null ? 0 : feed.changelogEnd();
        if (changelogEnd != 0 && Long.compareUnsigned(changelogEnd, checkpoint.endLsn().asLong()) < 0) {
            return LogSequenceNumber.valueOf(changelogEnd);
        }
        return checkpoint.endLsn();
    }

    private void learnIdentity(UpstreamConnector connector, Connection replication) throws Exception {
        if (feed != null) {
            String[] identity = connector.identifySystem(replication);
            feed.identity(new SystemIdentity(identity[0], Integer.parseInt(identity[1])));
        }
    }

    private ChangeApplier openApplier(CheckpointStore store) throws SQLException {
        Connection connection = downstream.getConnection();
        try {
            store.ensureTable(connection);
            Checkpoint checkpoint = store.read(connection); // autocommit: the pool's default
            CopyFilter filter = ResumedTables.filter(connection, config.relayName(), checkpoint);
            DownstreamConstraints constraints = DownstreamConstraints.read(connection);
            return new ChangeApplier(connection, store, checkpoint, config.conflictPolicy(),
                    config.applyBatchSize(), config.applyAsyncCommit(), listener, new SchemaDrift(config.schema().addColumns()))
                    .withCopyFilter(filter)
                    .withConstraints(constraints);
        } catch (SQLException | RuntimeException e) {
            connection.close();
            throw e;
        }
    }

    /**
     * apply.workers > 1: {@code first} becomes lane 1, the others open like it (same checkpoint),
     * and one more connection fences the checkpoint and tracks the flush position.
     */
    private ParallelApplyWorker openParallel(ChangeApplier first, CheckpointStore store) throws SessionFailure {
        List<ChangeApplier> lanes = new ArrayList<>(List.of(first));
        try {
            return onDownstream(() -> {
                for (int i = 1; i < config.applyWorkers(); i++) {
                    ChangeApplier lane = openApplier(store);
                    lanes.add(lane);
                    if (!lane.durable().equals(first.durable())) {
                        throw new SQLException("the checkpoint moved while parallel apply lanes opened", "40001");
                    }
                }
                Connection control = downstream.getConnection();
                try {
                    return new ParallelApplyWorker(lanes, control, store, DownstreamConstraints.read(control), listener,
                            config.applyAsyncCommit(), config.applyBatchSize(),
                            Math.max(config.applyGroupChanges(), 10 * config.applyBatchSize()),
                            config.statusInterval(), config.shutdownTimeout().dividedBy(2));
                } catch (SQLException | RuntimeException e) {
                    control.close();
                    throw e;
                }
            });
        } catch (SessionFailure e) {
            for (ChangeApplier lane : lanes.subList(1, lanes.size())) {
                try {
                    lane.close();
                } catch (SQLException closing) {
                    log.debug("closing a parallel apply lane failed: {}", closing.getMessage());
                }
            }
            throw e;
        }
    }

    /** schema.create: before streaming, create what the downstream lacks (nothing, once it has it all). */
    private void bootstrapSchema() throws SessionFailure {
        if (!config.schema().create()) {
            return;
        }
        SourceSchema schema = onUpstream(() -> UpstreamSchema.read(config));
        if (schema != null) {
            onDownstream(() -> {
                try (Connection connection = downstream.getConnection()) {
                    return SchemaBootstrap.create(schema, connection);
                }
            });
        }
    }

    private void runThreads(PGReplicationStream stream, ChangeApplier applier, ParallelApplyWorker parallel,
                            StreamPositions positions, ReceivedLog receivedLog, UpstreamLiveness liveness)
            throws InterruptedException {
        BlockingQueue<PgOutputMessage> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
        StreamReader reader = new StreamReader(stream, new PgOutputDecoder(), queue, positions, receivedLog,
                config.statusInterval().toNanos(), liveness);
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
                BooleanSupplier stop = () -> stopRequested.getAsBoolean() || failure.get() != null;
                if (parallel != null) {
                    parallel.run(queue, positions, stop, () -> !streamDone);
                } else {
                    worker.run(stop, () -> !streamDone);
                }
            } catch (ApplyException e) {
                throw e;
            } catch (Exception | AssertionError e) {
                boolean valid = parallel != null ? parallel.isConnectionValid() : applier.isConnectionValid();
                throw valid ? e : new SQLException("downstream connection lost: " + e.getMessage(), "08006", e);
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

    private static <T> T onRelay(Step<T> step) throws SessionFailure {
        return on(Side.RELAY, step);
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
