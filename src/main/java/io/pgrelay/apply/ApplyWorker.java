package io.pgrelay.apply;

import io.pgrelay.checkpoint.Checkpoint;
import io.pgrelay.decode.PgOutputMessage;
import io.pgrelay.source.StreamPositions;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.postgresql.replication.LogSequenceNumber;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The apply thread's loop: takes messages from the queue the stream thread fills, applies them,
 * and decides when a group of upstream transactions commits downstream.
 *
 * <p>A group commits at an upstream commit boundary when the queue is empty (caught up: commit
 * now, for low lag), when it holds {@code groupChanges} changes, or when it is older than
 * {@link #MAX_GROUP_AGE} (catching up: big groups, few downstream commits). Each commit is
 * published to {@link StreamPositions#durable(Checkpoint)} for the stream thread to acknowledge,
 * once durable: under asynchronous commit when the downstream has flushed it (checked with each
 * commit and while idle), and at a stop by one synchronous flush.
 *
 * <p>On a stop request the current upstream transaction is finished if it arrives within
 * {@code finishWithin}, then the group commits; otherwise it is rolled back. Either way nothing
 * partial is ever committed.
 */
public final class ApplyWorker {

    private static final Logger log = LoggerFactory.getLogger(ApplyWorker.class);
    static final Duration MAX_GROUP_AGE = Duration.ofMillis(500);
    private static final long POLL_MILLIS = 50;

    private final ChangeApplier applier;
    private final BlockingQueue<PgOutputMessage> queue;
    private final StreamPositions positions;
    private final int groupChanges;
    private final long idleCheckpointIntervalNanos;
    private final Duration finishWithin;

    private long groupStarted;
    private long lastIdleCheckpoint = System.nanoTime();

    public ApplyWorker(ChangeApplier applier, BlockingQueue<PgOutputMessage> queue, StreamPositions positions,
                       int groupChanges, Duration idleCheckpointInterval, Duration finishWithin) {
        this.applier = applier;
        this.queue = queue;
        this.positions = positions;
        this.groupChanges = groupChanges;
        this.idleCheckpointIntervalNanos = idleCheckpointInterval.toNanos();
        this.finishWithin = finishWithin;
    }

    /**
     * Applies until {@code stopRequested} (then finishes cleanly) or until {@code streamAlive}
     * turns false (then rolls back what is not complete). Throws on an apply failure after
     * rolling back.
     */
    public void run(BooleanSupplier stopRequested, BooleanSupplier streamAlive) throws SQLException, InterruptedException {
        try {
            long stopDeadline = Long.MAX_VALUE;
            while (true) {
                if (stopRequested.getAsBoolean() && stopDeadline == Long.MAX_VALUE) {
                    stopDeadline = System.nanoTime() + finishWithin.toNanos();
                }
                if (stopDeadline != Long.MAX_VALUE && finishForStop(stopDeadline)) {
                    return;
                }
                PgOutputMessage message = queue.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
                if (message != null) {
                    startGroupClock();
                    applier.apply(message);
                    commitIfDue();
                } else if (!streamAlive.getAsBoolean()) {
                    applier.rollback();
                    return;
                } else {
                    whenIdle();
                }
            }
        } catch (SQLException | RuntimeException | InterruptedException e) {
            rollbackQuietly();
            throw e;
        }
    }

    /** True once stopped: at a transaction boundary the group commits; past the deadline it rolls back. */
    private boolean finishForStop(long deadline) throws SQLException {
        if (!applier.inTransaction()) {
            commit();
            positions.durable(applier.flushNow());
            return true;
        }
        if (System.nanoTime() - deadline > 0) {
            log.warn("stopping inside an upstream transaction that did not complete within {} ms: rolled back, "
                    + "it will be applied again after restart", finishWithin.toMillis());
            applier.rollback();
            return true;
        }
        return false;
    }

    private void startGroupClock() {
        if (!applier.hasUncommittedGroup() && applier.groupChanges() == 0) {
            groupStarted = System.nanoTime();
        }
    }

    private void commitIfDue() throws SQLException {
        if (applier.inTransaction() || !applier.hasUncommittedGroup()) {
            return;
        }
        if (queue.isEmpty() || applier.groupChanges() >= groupChanges
                || System.nanoTime() - groupStarted >= MAX_GROUP_AGE.toNanos()) {
            commit();
        }
    }

    private void whenIdle() throws SQLException {
        if (applier.inTransaction()) {
            return;
        }
        if (applier.hasUncommittedGroup()) {
            commit();
            return;
        }
        if (applier.hasUnflushedCommits()) {
            positions.durable(applier.pollFlushed());
        }
        // Read the upstream position before looking at the queue: the stream thread publishes
        // it only after queueing everything read before it, so an empty queue now means every
        // transaction up to that position has been applied.
        LogSequenceNumber upstreamEnd = positions.upstreamEnd();
        if (queue.isEmpty() && System.nanoTime() - lastIdleCheckpoint >= idleCheckpointIntervalNanos) {
            lastIdleCheckpoint = System.nanoTime();
            positions.durable(applier.advanceIdle(upstreamEnd));
        }
    }

    private void commit() throws SQLException {
        positions.durable(applier.commitGroup());
    }

    private void rollbackQuietly() {
        try {
            applier.rollback();
        } catch (SQLException | RuntimeException e) {
            log.debug("rollback after apply failure failed too: {}", e.getMessage());
        }
    }
}
