package io.pgrelay.apply;

import io.pgrelay.apply.CommitOrder.AbortedException;
import io.pgrelay.checkpoint.Checkpoint;
import io.pgrelay.checkpoint.CheckpointStore;
import io.pgrelay.decode.PgOutputMessage;
import io.pgrelay.decode.PgOutputMessage.Begin;
import io.pgrelay.decode.PgOutputMessage.Commit;
import io.pgrelay.decode.PgOutputMessage.Delete;
import io.pgrelay.decode.PgOutputMessage.Insert;
import io.pgrelay.decode.PgOutputMessage.Relation;
import io.pgrelay.decode.PgOutputMessage.Truncate;
import io.pgrelay.decode.PgOutputMessage.Type;
import io.pgrelay.decode.PgOutputMessage.Update;
import io.pgrelay.source.StreamPositions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.postgresql.replication.LogSequenceNumber;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parallel apply ({@code apply.workers} > 1): the apply thread becomes a dispatcher that cuts the
 * stream into units of consecutive upstream transactions and hands each to a free
 * {@link ApplyLane}, each lane on its own downstream connection.
 *
 * <p><b>Why it is exactly-once.</b> Units commit strictly in upstream order ({@link CommitOrder}),
 * each with its checkpoint, so after any crash the downstream holds exactly the transactions up to
 * its checkpoint, as with serial apply. Only the <i>work</i> before the commit overlaps.
 *
 * <p><b>Why the result equals serial apply.</b> A unit starts only after every earlier unit it
 * conflicts with has committed ({@link ConflictKeys}: same row key, same foreign-key group, same
 * table when rows cannot be told apart). Units without a common key touch disjoint rows, so
 * their order does not matter and neither waits on a lock of the other. A transaction that
 * truncates, changes a relation's shape or touches a table with triggers or rules is a barrier:
 * its unit waits for every earlier one and every later one waits for it.
 *
 * <p><b>Bounded memory.</b> A unit holds at most about {@code unitChanges} changes; a transaction
 * larger than {@code streamAfter} changes is not held: it becomes a barrier unit whose messages
 * flow to its lane as they arrive.
 *
 * <p><b>Acknowledgement.</b> Lanes commit with {@code synchronous_commit=off} under
 * {@code apply.async-commit}; the dispatcher, on its own control connection, reads the
 * downstream's WAL insert position after each new committed checkpoint and acknowledges it once
 * the flush position passes it (DESIGN.md invariant 3). The control connection also fences the
 * checkpoint row at start (see {@link CheckpointStore#fence}) and writes idle advances.
 *
 * <p>Threads: {@link #run} on the apply thread; lanes on their own; nothing else touches the
 * lanes' connections.
 */
public final class ParallelApplyWorker implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ParallelApplyWorker.class);
    private static final long POLL_MILLIS = 50;
    private static final long FLUSH_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    /** Chunks in flight to a streamed unit's lane, and messages per chunk (one hand-off each, not one per message). */
    private static final int STREAM_CAPACITY = 16;
    private static final int STREAM_CHUNK = 512;
    /** How long the oldest unit may go without committing before the dispatcher looks for lanes blocking it. */
    private static final long STALL_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** Keys of committed units are forgotten once the map holds this many. */
    private static final int MAX_REMEMBERED_KEYS = 200_000;

    private final Connection control;
    private final CheckpointStore checkpoints;
    private final ApplyListener listener;
    private final boolean asyncCommit;
    private final int unitChangesTarget;
    private final int streamAfter;
    private final long idleCheckpointIntervalNanos;
    private final Duration finishWithin;
    private final ConflictKeys conflicts;
    private final CommitOrder order;
    private final List<PgOutputMessage> catalog = new CopyOnWriteArrayList<>();
    private final List<ApplyLane> lanes = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final long[] laneUnit;
    private final int[] lanePids;
    private long stallCommitted = -1;
    private long stallSince;

    // The upstream transaction being read.
    private final List<PgOutputMessage> transaction = new ArrayList<>();
    /** The catalog's size when the open transaction began: what it adds must apply right before it. */
    private int transactionCatalogStart;
    private final Set<String> transactionKeys = new HashSet<>();
    private boolean inTransaction;
    private boolean transactionBarrier;
    private int transactionChanges;
    /** The queue of the streamed unit while a too-large transaction flows to its lane. */
    private BlockingQueue<Object> streaming;
    private List<Object> streamChunk = new ArrayList<>();

    // The unit being formed.
    private List<Object> unit = new ArrayList<>();
    private final Set<String> unitKeys = new HashSet<>();
    private long unitDependsOn;
    private boolean unitBarrier;
    private int unitChanges;
    private int unitCatalogEnd;
    /** How much of the catalog the unit's lane will know after its last transaction so far. */
    private int unitCatalogPosition;
    private long unitStarted;

    // Units handed out.
    private long lastSeq;
    private long lastBarrier;
    private final Map<String, Long> lastWriter = new HashMap<>();

    // Acknowledgement.
    private final UnflushedCommits unflushed = new UnflushedCommits();
    private Checkpoint tracked;
    private Checkpoint published;
    private long lastFlushPoll;
    private long lastIdleCheckpoint = System.nanoTime();
    private BlockingQueue<PgOutputMessage> queue;
    private StreamPositions positions;

    /**
     * @param laneAppliers one per lane, each on its own connection, all at the session's checkpoint
     * @param control      a further connection: fence, flush positions, idle advances
     */
    public ParallelApplyWorker(List<ChangeApplier> laneAppliers, Connection control, CheckpointStore checkpoints,
                               DownstreamConstraints constraints, ApplyListener listener, boolean asyncCommit,
                               int unitChanges, int streamAfter, Duration idleCheckpointInterval, Duration finishWithin)
            throws SQLException {
        this.control = control;
        this.checkpoints = checkpoints;
        this.listener = listener;
        this.asyncCommit = asyncCommit;
        this.unitChangesTarget = unitChanges;
        this.streamAfter = streamAfter;
        this.idleCheckpointIntervalNanos = idleCheckpointInterval.toNanos();
        this.finishWithin = finishWithin;
        this.conflicts = new ConflictKeys(constraints);
        Checkpoint start = laneAppliers.get(0).durable();
        this.order = new CommitOrder(start);
        this.tracked = start;
        this.published = start;
        for (ChangeApplier applier : laneAppliers) {
            lanes.add(new ApplyLane(applier.forParallelLane(), order, catalog, listener));
        }
        this.laneUnit = new long[lanes.size()];
        this.lanePids = new int[lanes.size()];
        for (int i = 0; i < lanes.size(); i++) {
            lanePids[i] = lanes.get(i).backendPid();
        }
        control.setAutoCommit(false);
        checkpoints.fence(control, start);
        control.commit();
        control.setAutoCommit(true);
    }

    public int lanes() {
        return lanes.size();
    }

    /**
     * Applies what the stream thread puts in {@code queue} until {@code stopRequested} (then
     * finishes cleanly) or until {@code streamAlive} turns false (then rolls back what has not
     * committed). Throws the first failure of any lane or of the dispatcher, after every lane
     * has rolled back. Once per instance.
     */
    public void run(BlockingQueue<PgOutputMessage> queue, StreamPositions positions, BooleanSupplier stopRequested,
                    BooleanSupplier streamAlive) throws SQLException, InterruptedException {
        this.queue = queue;
        this.positions = positions;
        for (int i = 0; i < lanes.size(); i++) {
            Thread thread = new Thread(lanes.get(i), "pgrelay-apply-" + (i + 1));
            thread.setDaemon(true);
            threads.add(thread);
            thread.start();
        }
        try {
            long stopDeadline = Long.MAX_VALUE;
            while (true) {
                rethrowLaneFailure();
                resolveStall();
                if (stopRequested.getAsBoolean() && stopDeadline == Long.MAX_VALUE) {
                    stopDeadline = System.nanoTime() + finishWithin.toNanos();
                }
                if (stopDeadline != Long.MAX_VALUE && finishForStop(stopDeadline)) {
                    return;
                }
                PgOutputMessage message = queue.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
                if (message != null) {
                    handle(message);
                    dispatchIfDue();
                    if (queue.isEmpty()) {
                        sendStreamChunk(); // nothing else to collect now: let the lane go on
                    }
                } else if (!streamAlive.getAsBoolean()) {
                    return; // the finally block rolls back what is not committed
                } else {
                    sendStreamChunk();
                    whenIdle();
                }
                acknowledge(false);
            }
        } catch (AbortedException e) {
            rethrowLaneFailure();
            throw new IllegalStateException("parallel apply stopped without a recorded failure", e);
        } finally {
            order.abort();
            for (Thread thread : threads) {
                thread.join();
            }
        }
    }

    private void handle(PgOutputMessage message) throws SQLException, AbortedException, InterruptedException {
        if (message instanceof Relation relation) {
            catalog.add(relation);
            if (conflicts.relation(relation)) {
                transactionBarrier = true; // the shape changed: no lane may hold rows of the old one
            }
            toStream(new ApplyUnit.CatalogUpTo(catalog.size()));
            return;
        }
        if (message instanceof Type) {
            catalog.add(message);
            toStream(new ApplyUnit.CatalogUpTo(catalog.size()));
            return;
        }
        if (message instanceof Begin) {
            inTransaction = true;
            transactionCatalogStart = catalog.size();
        } else if (message instanceof Insert insert) {
            if (change(insert.relationId())) {
                conflicts.insert(insert, transactionKeys);
            }
        } else if (message instanceof Update update) {
            if (change(update.relationId())) {
                conflicts.update(update, transactionKeys);
            }
        } else if (message instanceof Delete delete) {
            if (change(delete.relationId())) {
                conflicts.delete(delete, transactionKeys);
            }
        } else if (message instanceof Truncate) {
            transactionChanges++;
            transactionBarrier = true;
        } else if (!inTransaction) {
            return; // a non-transactional logical message: nothing to apply
        }
        if (streaming != null) {
            toStream(message);
        } else {
            transaction.add(message);
        }
        if (message instanceof Commit) {
            inTransaction = false;
            if (streaming != null) {
                sendStreamChunk();
                streaming = null; // its lane commits it
                clearTransaction();
            } else {
                addTransactionToUnit();
            }
        } else if (streaming == null && transactionChanges > streamAfter) {
            startStreaming();
        }
    }

    /** Counts a row change; true when its keys are still needed (not streamed, not already a barrier). */
    private boolean change(int relationId) {
        transactionChanges++;
        if (streaming != null || transactionBarrier) {
            return false; // a barrier waits for everything: its keys do not matter
        }
        if (conflicts.isBarrier(relationId)) {
            transactionBarrier = true;
            transactionKeys.clear();
            return false;
        }
        return true;
    }

    /** A complete transaction joins the unit, unless it would make the unit wait longer. */
    private void addTransactionToUnit() throws AbortedException, InterruptedException, SQLException {
        long dependsOn = transactionDependsOn();
        if (!unit.isEmpty() && dependsOn > unitDependsOn) {
            dispatchUnit();
            // The unit just handed out may share keys with this transaction: count it too.
            dependsOn = transactionDependsOn();
        }
        if (unit.isEmpty()) {
            unitDependsOn = dependsOn;
            unitStarted = System.nanoTime();
            unitCatalogEnd = Math.min(transactionCatalogStart, catalog.size());
            unitCatalogPosition = unitCatalogEnd;
        }
        if (catalog.size() > unitCatalogPosition) {
            // Relation/Type messages that came with this transaction (a changed shape) apply
            // after the unit's earlier transactions, whose rows have the old shape.
            unitCatalogPosition = catalog.size();
            unit.add(new ApplyUnit.CatalogUpTo(unitCatalogPosition));
        }
        unit.addAll(transaction);
        if (!transactionBarrier) {
            unitKeys.addAll(transactionKeys);
        }
        unitBarrier |= transactionBarrier;
        unitChanges += transactionChanges;
        clearTransaction();
        if (unitChanges >= unitChangesTarget) {
            dispatchUnit();
        }
    }

    /** The last handed-out unit that the open transaction conflicts with (0: none). */
    private long transactionDependsOn() {
        if (transactionBarrier) {
            return lastSeq;
        }
        long dependsOn = lastBarrier;
        for (String key : transactionKeys) {
            Long writer = lastWriter.get(key);
            if (writer != null && writer > dependsOn) {
                dependsOn = writer;
            }
        }
        return dependsOn;
    }

    private void clearTransaction() {
        transaction.clear();
        transactionKeys.clear();
        transactionBarrier = false;
        transactionChanges = 0;
    }

    /** Caught up (nothing queued) or the unit is old: hand it out now, for low lag. */
    private void dispatchIfDue() throws AbortedException, InterruptedException, SQLException {
        if (!unit.isEmpty() && (queue.isEmpty() || System.nanoTime() - unitStarted >= ApplyWorker.MAX_GROUP_AGE.toNanos())) {
            dispatchUnit();
        }
    }

    private void dispatchUnit() throws AbortedException, InterruptedException, SQLException {
        long seq = ++lastSeq;
        long waitFor = unitBarrier ? seq - 1 : Math.max(unitDependsOn, lastBarrier);
        if (unitBarrier) {
            lastBarrier = seq;
        }
        for (String key : unitKeys) {
            lastWriter.put(key, seq);
        }
        if (lastWriter.size() > MAX_REMEMBERED_KEYS) {
            long committed = order.committed();
            lastWriter.values().removeIf(writer -> writer <= committed);
        }
        assign(new ApplyUnit(seq, waitFor, unitCatalogEnd, unit, null));
        unit = new ArrayList<>();
        unitKeys.clear();
        unitBarrier = false;
        unitChanges = 0;
        unitDependsOn = 0;
    }

    /**
     * The open transaction outgrew a unit: the units before it go out, and it becomes a
     * barrier unit whose messages its lane applies as they arrive.
     */
    private void startStreaming() throws AbortedException, InterruptedException, SQLException {
        if (!unit.isEmpty()) {
            dispatchUnit();
        }
        long seq = ++lastSeq;
        lastBarrier = seq;
        streaming = new ArrayBlockingQueue<>(STREAM_CAPACITY);
        assign(new ApplyUnit(seq, seq - 1, catalog.size(), null, streaming));
        for (PgOutputMessage message : transaction) {
            toStream(message);
        }
        transaction.clear();
        transactionKeys.clear();
    }

    private void toStream(Object item) throws SQLException, InterruptedException {
        if (streaming == null) {
            return;
        }
        streamChunk.add(item);
        if (streamChunk.size() >= STREAM_CHUNK) {
            sendStreamChunk();
        }
    }

    /** Hands the collected messages to the streamed unit's lane; also when nothing more is queued. */
    private void sendStreamChunk() throws SQLException, InterruptedException {
        if (streaming == null || streamChunk.isEmpty()) {
            return;
        }
        while (!streaming.offer(streamChunk, POLL_MILLIS, TimeUnit.MILLISECONDS)) {
            rethrowLaneFailure();
        }
        streamChunk = new ArrayList<>(STREAM_CHUNK);
    }

    /** Gives the unit to a lane whose last unit has committed, waiting for one if need be. */
    private void assign(ApplyUnit next) throws AbortedException, InterruptedException, SQLException {
        while (true) {
            long committed = order.committed();
            long oldest = Long.MAX_VALUE;
            for (int i = 0; i < lanes.size(); i++) {
                if (laneUnit[i] <= committed) {
                    laneUnit[i] = next.seq();
                    lanes.get(i).assign(next);
                    return;
                }
                oldest = Math.min(oldest, laneUnit[i]);
            }
            order.awaitCommitted(oldest, POLL_MILLIS);
            rethrowLaneFailure();
            resolveStall();
            acknowledge(false);
        }
    }

    private void whenIdle() throws SQLException, AbortedException, InterruptedException {
        if (inTransaction || streaming != null) {
            return;
        }
        if (!unit.isEmpty()) {
            dispatchUnit();
            return;
        }
        // Read the upstream position before looking at the queue (see ApplyWorker#whenIdle).
        LogSequenceNumber upstreamEnd = positions.upstreamEnd();
        if (order.committed() == lastSeq && queue.isEmpty()
                && System.nanoTime() - lastIdleCheckpoint >= idleCheckpointIntervalNanos) {
            lastIdleCheckpoint = System.nanoTime();
            advanceIdle(upstreamEnd);
        }
    }

    /** Every unit committed and the upstream idle: move the checkpoint so the slot can release WAL. */
    private void advanceIdle(LogSequenceNumber upstreamEnd) throws SQLException {
        Checkpoint current = order.checkpoint();
        if (upstreamEnd == null || current.covers(upstreamEnd) || current.endLsn().equals(upstreamEnd)) {
            return;
        }
        Checkpoint advanced = new Checkpoint(upstreamEnd, current.commitTime());
        control.setAutoCommit(false);
        try {
            checkpoints.write(control, advanced);
            control.commit(); // synchronous: flushes every lane's earlier commit too
        } finally {
            control.setAutoCommit(true);
        }
        order.advance(advanced);
        unflushed.clear();
        tracked = advanced;
        publish(advanced);
        listener.groupCommitted(advanced, 0, 0);
    }

    /**
     * The safety net under the conflict keys: when the oldest unit has not committed for a
     * second, asks the downstream which lanes wait for a lock of a lane that runs a later unit.
     * That later unit would wait for its turn behind the blocked one forever: a deadlock
     * PostgreSQL cannot see. It yields: it rolls back and applies again after the earlier ones.
     * Only a dependency the keys miss (a constraint created after the session started, say) gets
     * here.
     */
    private void resolveStall() throws SQLException {
        long committed = order.committed();
        long now = System.nanoTime();
        if (committed != stallCommitted || committed == lastSeq) {
            stallCommitted = committed;
            stallSince = now;
            return;
        }
        if (now - stallSince < STALL_NANOS) {
            return;
        }
        stallSince = now;
        // Every lane waiting for a lock of a lane with a later unit: the later one yields. Not
        // only the oldest unit's blockers: a yielding lane that is itself blocked by a still later
        // one can only yield once that one has.
        Integer[] pids = new Integer[lanePids.length];
        for (int i = 0; i < lanePids.length; i++) {
            pids[i] = lanePids[i];
        }
        try (var statement = control.prepareStatement(
                "SELECT waiter, unnest(pg_blocking_pids(waiter)) FROM unnest(?::int[]) AS waiter")) {
            statement.setArray(1, control.createArrayOf("int4", pids));
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    int waiter = laneOfPid(rs.getInt(1));
                    int blocker = laneOfPid(rs.getInt(2));
                    if (waiter >= 0 && blocker >= 0 && laneUnit[blocker] > laneUnit[waiter]
                            && laneUnit[blocker] > committed) {
                        log.debug("parallel apply: unit {} waits for a lock of unit {}; unit {} yields",
                                laneUnit[waiter], laneUnit[blocker], laneUnit[blocker]);
                        order.requestYield(laneUnit[blocker]);
                    }
                }
            }
        }
    }

    private int laneOfPid(int pid) {
        for (int i = 0; i < lanePids.length; i++) {
            if (lanePids[i] == pid) {
                return i;
            }
        }
        return -1;
    }

    /** Publishes the newest checkpoint that may be acknowledged upstream. */
    private void acknowledge(boolean force) throws SQLException {
        Checkpoint committed = order.checkpoint();
        if (!asyncCommit) {
            publish(committed);
            return;
        }
        boolean fresh = !committed.equals(tracked);
        if (!fresh && unflushed.isEmpty()) {
            return;
        }
        long now = System.nanoTime();
        if (!force && now - lastFlushPoll < FLUSH_POLL_NANOS) {
            return;
        }
        lastFlushPoll = now;
        // Read after the commit: the insert position is then past its commit record.
        long[] wal = walPositions();
        if (fresh) {
            unflushed.add(committed, wal[0]);
            tracked = committed;
        }
        Checkpoint flushed = unflushed.flushedUpTo(wal[1]);
        if (flushed != null) {
            publish(flushed);
        }
    }

    private void publish(Checkpoint checkpoint) {
        if (!checkpoint.equals(published)) {
            published = checkpoint;
            positions.durable(checkpoint);
        }
    }

    private long[] walPositions() throws SQLException {
        try (Statement statement = control.createStatement();
             ResultSet rs = statement.executeQuery(
                     "SELECT pg_current_wal_insert_lsn()::text, pg_current_wal_flush_lsn()::text")) {
            rs.next();
            return new long[] {LogSequenceNumber.valueOf(rs.getString(1)).asLong(),
                    LogSequenceNumber.valueOf(rs.getString(2)).asLong()};
        }
    }

    /** True once stopped: at a transaction boundary everything commits; past the deadline the open transaction is dropped. */
    private boolean finishForStop(long deadline) throws SQLException, AbortedException, InterruptedException {
        if (inTransaction && System.nanoTime() - deadline <= 0) {
            return false;
        }
        if (inTransaction) {
            log.warn("stopping inside an upstream transaction that did not complete within {} ms: rolled back, "
                    + "it will be applied again after restart", finishWithin.toMillis());
            if (streaming != null) {
                order.abort(); // its lane rolls it back; every earlier unit has committed (it is a barrier)
                awaitLanes();
                flushAndPublish();
                return true;
            }
            clearTransaction();
            inTransaction = false;
        }
        if (!unit.isEmpty()) {
            dispatchUnit();
        }
        while (!order.awaitCommitted(lastSeq, POLL_MILLIS)) {
            rethrowLaneFailure();
            resolveStall();
        }
        flushAndPublish();
        return true;
    }

    private void awaitLanes() throws InterruptedException {
        for (Thread thread : threads) {
            thread.join();
        }
    }

    /** At a stop: every lane's asynchronous commit becomes durable, and so the last checkpoint. */
    private void flushAndPublish() throws SQLException {
        if (asyncCommit) {
            control.setAutoCommit(false);
            try {
                DownstreamFlush.force(control);
            } finally {
                control.setAutoCommit(true);
            }
            unflushed.clear();
        }
        Checkpoint last = order.checkpoint();
        tracked = last;
        publish(last);
    }

    private void rethrowLaneFailure() throws SQLException {
        Throwable failure = order.failure();
        if (failure == null) {
            return;
        }
        if (failure instanceof SQLException e) {
            throw e;
        }
        if (failure instanceof RuntimeException e) {
            throw e;
        }
        if (failure instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("parallel apply lane failed: " + failure.getMessage(), failure);
    }

    /** True while the control connection works (the lanes classify their own failures). */
    public boolean isConnectionValid() {
        try {
            return control.isValid(5);
        } catch (SQLException e) {
            return false;
        }
    }

    /** Closes every lane's connection and the control connection; call after {@link #run} returned. */
    @Override
    public void close() throws SQLException {
        SQLException first = null;
        for (ApplyLane lane : lanes) {
            try {
                lane.applier().close();
            } catch (SQLException e) {
                first = first == null ? e : first;
            }
        }
        try {
            control.close();
        } catch (SQLException e) {
            first = first == null ? e : first;
        }
        if (first != null) {
            throw first;
        }
    }
}
