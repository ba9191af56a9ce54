package io.pgrelay.apply;

import io.pgrelay.checkpoint.Checkpoint;
import io.pgrelay.checkpoint.CheckpointStore;
import io.pgrelay.config.ConflictPolicy;
import io.pgrelay.decode.PgOutputMessage;
import io.pgrelay.decode.PgOutputMessage.Begin;
import io.pgrelay.decode.PgOutputMessage.Commit;
import io.pgrelay.decode.PgOutputMessage.Delete;
import io.pgrelay.decode.PgOutputMessage.Insert;
import io.pgrelay.decode.PgOutputMessage.Relation;
import io.pgrelay.decode.PgOutputMessage.ReplicaIdentity;
import io.pgrelay.decode.PgOutputMessage.Truncate;
import io.pgrelay.decode.PgOutputMessage.Type;
import io.pgrelay.decode.PgOutputMessage.Update;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.TransactionState;
import org.postgresql.replication.LogSequenceNumber;

/**
 * Applies upstream transactions to the downstream on one connection, grouping several upstream
 * transactions into one downstream transaction and writing the checkpoint in that same
 * transaction (DESIGN.md invariant 2).
 *
 * <p>Changes are sent as they arrive (in JDBC batches), never collected per transaction, so
 * memory does not grow with transaction size. With {@link #withConstraints} rows of independent
 * tables are held per table up to the batch size and sent table by table ({@link CrossTableBatch}).
 * A group is only ever committed at an upstream commit boundary; a partial upstream transaction
 * is rolled back, never committed.
 *
 * <p>Transactions whose commit LSN is below the checkpoint read at start are skipped: they were
 * applied before a crash that happened after the downstream commit but before the upstream
 * heard about it.
 *
 * <p>With {@code asyncCommit} the downstream commits with {@code synchronous_commit=off}: no
 * fsync wait per commit. A commit is then durable only once the downstream has flushed its WAL
 * past the commit record, so the checkpoint returned for acknowledgement ({@link #commitGroup()},
 * {@link #pollFlushed()}) trails the committed one until then (DESIGN.md invariant 3). After a
 * downstream crash the unflushed commits are gone together with their checkpoint rows, and the
 * relay resumes from the checkpoint that survived, which the upstream slot never passed.
 *
 * <p>Not thread-safe: owned by the apply thread.
 */
public final class ChangeApplier implements AutoCloseable {

    private final Connection connection;
    private final CheckpointStore checkpoints;
    private final ConflictPolicy policy;
    private final ApplyListener listener;
    private final DownstreamCatalog catalog = new DownstreamCatalog();
    private final Map<Integer, Relation> relations = new HashMap<>();
    private final Map<Integer, TargetTable> targets = new HashMap<>();
    private final CrossTableBatch batch;
    private final RelationCheck relationCheck;
    private CopyFilter copyFilter = CopyFilter.NONE;
    /** Null: no reordering at all, every row keeps its exact position. */
    private DownstreamConstraints constraints;
    private final boolean asyncCommit;
    private final UnflushedCommits unflushed = new UnflushedCommits();
    private final UncommittedCounts counts = new UncommittedCounts();

    private Checkpoint durable;
    private Checkpoint acknowledgeable;
    private Checkpoint pending;
    private int groupChanges;
    private boolean inTransaction;
    private boolean skipping;
    /** True once this session locked and checked the checkpoint row (CheckpointStore#fence). */
    private boolean fenced;
    /** False on a parallel lane, whose dispatcher tracks the flush position for all lanes. */
    private boolean tracksFlush = true;
    private long transactionLsn;
    private long groupStarted;

    /**
     * @param connection a downstream connection this applier owns until {@link #close()}
     * @param durable    the checkpoint read from the downstream at session start
     * @param asyncCommit commit with {@code synchronous_commit=off}, acknowledging only flushed commits
     */
    public ChangeApplier(Connection connection, CheckpointStore checkpoints, Checkpoint durable,
                         ConflictPolicy policy, int batchSize, boolean asyncCommit, ApplyListener listener)
            throws SQLException {
        this(connection, checkpoints, durable, policy, batchSize, asyncCommit, listener, RelationCheck.NONE);
    }

    /** As above, with a check of every Relation message against the downstream (schema drift). */
    public ChangeApplier(Connection connection, CheckpointStore checkpoints, Checkpoint durable,
                         ConflictPolicy policy, int batchSize, boolean asyncCommit, ApplyListener listener,
                         RelationCheck relationCheck) throws SQLException {
        this.relationCheck = relationCheck;
        this.connection = connection;
        this.checkpoints = checkpoints;
        this.durable = durable;
        this.acknowledgeable = durable;
        this.policy = policy;
        this.asyncCommit = asyncCommit;
        this.listener = listener;
        connection.setAutoCommit(false);
        this.batch = new CrossTableBatch(new StatementBatch(connection, policy, batchSize), batchSize);
        if (asyncCommit) {
            // The checkpoint just read may come from an asynchronous commit of an earlier
            // session that is not on disk yet: make it durable before anyone acknowledges it.
            forceFlush();
            try (Statement statement = connection.createStatement()) {
                statement.execute("SET synchronous_commit = off");
            }
            connection.commit();
        }
    }

    /**
     * Skips, per table, the transactions a resumed initial copy already holds (see
     * {@link CopyFilter}); set once, before the first message.
     */
    public ChangeApplier withCopyFilter(CopyFilter filter) {
        this.copyFilter = filter;
        return this;
    }

    /**
     * Lets rows of independent tables be sent table by table within a group instead of in their
     * interleaved order (see {@link CrossTableBatch}); set once, before the first message. Without
     * it, every row keeps its exact position.
     */
    public ChangeApplier withConstraints(DownstreamConstraints constraints) {
        this.constraints = constraints;
        return this;
    }

    /** Applies one message. Row changes may be sent to the downstream but are not committed. */
    public void apply(PgOutputMessage message) throws SQLException {
        if (message instanceof Insert insert) {
            rowChange(insert.relationId(), table -> table.insert(insert));
        } else if (message instanceof Update update) {
            rowChange(update.relationId(), table -> table.update(update, transactionLsn));
        } else if (message instanceof Delete delete) {
            rowChange(delete.relationId(), table -> table.delete(delete, transactionLsn));
        } else if (message instanceof Begin begin) {
            begin(begin);
        } else if (message instanceof Commit commit) {
            commit(commit);
        } else if (message instanceof Relation relation) {
            relation(relation);
        } else if (message instanceof Truncate truncate) {
            truncate(truncate);
        } else if (message instanceof Type type) {
            relationCheck.type(type);
        }
        // Origin: informational, pgrelay applies every origin it is sent.
        // Type: values are bound as text; only the relation check needs the names.
        // LogicalMessage: no built-in meaning yet; heartbeats will use these.
    }

    /**
     * Makes this applier one lane of parallel apply ({@link ParallelApplyWorker}): the dispatcher
     * has fenced the checkpoint row already, and tracks the downstream's flush position itself,
     * once for all lanes, so commits here neither fence nor read WAL positions.
     */
    ChangeApplier forParallelLane() {
        this.fenced = true;
        this.tracksFlush = false;
        return this;
    }

    /** True between an upstream Begin and its Commit. */
    public boolean inTransaction() {
        return inTransaction;
    }

    /** True when committed upstream transactions are waiting in an open downstream transaction. */
    public boolean hasUncommittedGroup() {
        return pending != null;
    }

    public int groupChanges() {
        return groupChanges;
    }

    public Checkpoint durable() {
        return durable;
    }

    /**
     * Commits the open group with its checkpoint. Only at an upstream commit boundary.
     *
     * @return the checkpoint that may be acknowledged upstream: the new one, or under
     *         asynchronous commit the newest one the downstream has flushed
     */
    public Checkpoint commitGroup() throws SQLException {
        if (inTransaction) {
            throw new IllegalStateException("cannot commit inside an upstream transaction");
        }
        if (pending == null) {
            return durable;
        }
        batch.flush();
        checkpoints.write(connection, pending);
        connection.commit();
        batch.transactionEnded();
        durable = pending;
        pending = null;
        counts.committed(listener);
        listener.groupCommitted(durable, groupChanges, System.nanoTime() - groupStarted);
        groupChanges = 0;
        return committed(durable);
    }

    /** True when asynchronous commits wait for the downstream's WAL flush. */
    public boolean hasUnflushedCommits() {
        return !unflushed.isEmpty();
    }

    /** Asks the downstream how far its WAL is flushed; returns the checkpoint that may be acknowledged. */
    public Checkpoint pollFlushed() throws SQLException {
        if (!unflushed.isEmpty()) {
            release(walPositions("pg_current_wal_flush_lsn()")[0]);
        }
        return acknowledgeable;
    }

    /**
     * Makes every commit so far durable now (stop, session start): a synchronous commit of a
     * transaction with an XID flushes the downstream WAL up to its own commit record, and so
     * past every asynchronous commit before it.
     *
     * @return the checkpoint that may be acknowledged: the last committed one
     */
    public Checkpoint flushNow() throws SQLException {
        if (!unflushed.isEmpty()) {
            forceFlush();
            unflushed.clear();
            acknowledgeable = durable;
        }
        return acknowledgeable;
    }

    private void forceFlush() throws SQLException {
        DownstreamFlush.force(connection);
    }

    /** After a commit: synchronous, it is durable; asynchronous, it waits for the downstream flush. */
    private Checkpoint committed(Checkpoint checkpoint) throws SQLException {
        if (!asyncCommit || !tracksFlush) {
            acknowledgeable = checkpoint;
            return acknowledgeable;
        }
        // Read after the commit: the insert position is then past its commit record.
        long[] wal = walPositions("pg_current_wal_insert_lsn(), pg_current_wal_flush_lsn()");
        unflushed.add(checkpoint, wal[0]);
        release(wal[1]);
        return acknowledgeable;
    }

    private void release(long flushed) {
        Checkpoint newest = unflushed.flushedUpTo(flushed);
        if (newest != null) {
            acknowledgeable = newest;
        }
    }

    /** One round trip outside any transaction, so the connection never sits idle in one. */
    private long[] walPositions(String functions) throws SQLException {
        if (connection.unwrap(BaseConnection.class).getTransactionState() != TransactionState.IDLE) {
            // Switching to autocommit would commit it: never with changes of an unfinished group.
            throw new IllegalStateException("downstream transaction open while reading WAL positions");
        }
        connection.setAutoCommit(true); // no round trip: no transaction is open
        try (Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("SELECT " + functions.replace("()", "()::text"))) {
            rs.next();
            long[] positions = new long[rs.getMetaData().getColumnCount()];
            for (int i = 0; i < positions.length; i++) {
                positions[i] = LogSequenceNumber.valueOf(rs.getString(i + 1)).asLong();
            }
            return positions;
        } finally {
            connection.setAutoCommit(false);
        }
    }

    /**
     * Moves the checkpoint to an upstream position that carries no transaction for us (the
     * upstream said so in a keepalive while nothing was in flight), so the upstream slot can
     * release WAL on an idle database.
     */
    public Checkpoint advanceIdle(LogSequenceNumber upstreamEnd) throws SQLException {
        if (inTransaction || pending != null || durable.covers(upstreamEnd) || durable.endLsn().equals(upstreamEnd)) {
            return acknowledgeable;
        }
        Checkpoint advanced = new Checkpoint(upstreamEnd, durable.commitTime());
        fence();
        checkpoints.write(connection, advanced);
        connection.commit();
        batch.transactionEnded();
        durable = advanced;
        listener.groupCommitted(durable, 0, 0);
        return committed(durable);
    }

    /** Drops whatever is not committed: the rest of an upstream transaction and the open group. */
    public void rollback() throws SQLException {
        batch.close();
        counts.discard();
        pending = null;
        groupChanges = 0;
        inTransaction = false;
        skipping = false;
        fenced = !tracksFlush; // a lane stays fenced: the dispatcher's fence covers the session
        connection.rollback();
    }

    /** The downstream backend's process id. */
    int backendPid() throws SQLException {
        return connection.unwrap(org.postgresql.PGConnection.class).getBackendPID();
    }

    /**
     * True while the downstream connection works. A failure on a dead connection is a lost
     * connection, whatever the driver threw on the way (pgjdbc can surface it as an assertion
     * or an IllegalStateException mid-batch).
     */
    public boolean isConnectionValid() {
        try {
            return connection.isValid(5);
        } catch (SQLException e) {
            return false;
        }
    }

    @Override
    public void close() throws SQLException {
        batch.close();
        connection.close();
    }

    private void begin(Begin begin) throws SQLException {
        if (pending == null && groupChanges == 0) {
            groupStarted = System.nanoTime();
        }
        inTransaction = true;
        transactionLsn = begin.finalLsn().asLong();
        skipping = durable.covers(begin.finalLsn());
        if (!skipping) {
            fence();
        }
    }

    /**
     * Before the session's first write: once it has locked the row at the expected checkpoint, no
     * transaction of an earlier connection can commit a checkpoint any more (one that could would
     * hold the row's lock already), so later groups need no lock.
     */
    private void fence() throws SQLException {
        if (!fenced) {
            checkpoints.fence(connection, durable);
            fenced = true;
        }
    }

    private void commit(Commit commit) throws SQLException {
        inTransaction = false;
        if (skipping) {
            skipping = false;
            listener.transactionSkipped(commit.endLsn());
            return;
        }
        pending = new Checkpoint(commit.endLsn(), commit.commitTime());
        counts.transaction(commit);
    }

    private void relation(Relation relation) throws SQLException {
        // A new Relation message means the upstream table changed: statements built for the
        // old shape must not be reused, and pending rows of the old shape go first.
        batch.flush();
        relationCheck.relation(connection, relations.get(relation.relationId()), relation);
        relations.put(relation.relationId(), relation);
        targets.remove(relation.relationId());
    }

    @FunctionalInterface
    private interface RowBuilder {
        RowStatement build(TargetTable table);
    }

    private void rowChange(int relationId, RowBuilder builder) throws SQLException {
        requireTransaction("row change");
        if (skipping || copyFilter.inCopy(relation(relationId), transactionLsn)) {
            return;
        }
        TargetTable table = target(relationId);
        RowStatement row = builder.build(table);
        if (constraints != null && constraints.table(table.qualifiedName()).isIndependent()) {
            if (batch.hold(row, transactionLsn)) {
                counts.folded();
            }
        } else {
            batch.addInOrder(row, transactionLsn);
        }
        groupChanges++;
        counts.row(table.relation(), row.operation().label());
    }

    private void truncate(Truncate truncate) throws SQLException {
        requireTransaction("truncate");
        if (skipping) {
            return;
        }
        batch.flush();
        StringJoiner tables = new StringJoiner(", ");
        List<Integer> truncated = new ArrayList<>();
        for (int relationId : truncate.relationIds()) {
            if (!copyFilter.inCopy(relation(relationId), transactionLsn)) {
                tables.add(target(relationId).truncateTarget());
                truncated.add(relationId);
            }
        }
        if (truncated.isEmpty()) {
            return; // every table's copy was read after this TRUNCATE
        }
        String sql = "TRUNCATE TABLE " + tables
                + (truncate.restartIdentity() ? " RESTART IDENTITY" : "")
                + (truncate.cascade() ? " CASCADE" : "");
        try (Statement statement = connection.createStatement()) {
            statement.execute(sql);
        } catch (SQLException e) {
            if (SqlStates.isAboutTheData(e.getSQLState())) {
                throw ApplyException.refused(sql, transactionLsn, e);
            }
            throw e;
        }
        groupChanges++;
        for (int relationId : truncated) {
            counts.row(relations.get(relationId), "truncate");
        }
    }

    private Relation relation(int relationId) {
        Relation relation = relations.get(relationId);
        if (relation == null) {
            throw new IllegalStateException("change for relation id " + relationId
                    + " before its Relation message: the upstream broke the pgoutput protocol");
        }
        return relation;
    }

    private TargetTable target(int relationId) throws SQLException {
        TargetTable table = targets.get(relationId);
        if (table != null) {
            return table;
        }
        Relation relation = relations.get(relationId);
        if (relation == null) {
            throw new IllegalStateException("change for relation id " + relationId
                    + " before its Relation message: the upstream broke the pgoutput protocol");
        }
        boolean full = relation.replicaIdentity() == ReplicaIdentity.FULL;
        // Flush first, held rows too: the catalog lookup may roll back to a savepoint, which
        // must not interleave with rows that are bound but not yet sent.
        batch.flush();
        table = new TargetTable(relation, catalog.describe(connection, relation, full), policy);
        if (constraints != null) {
            DownstreamConstraints.Table downstreamTable = constraints.table(table.qualifiedName());
            table.withRowKeys(ConflictKeys.rowKeyColumns(relation, downstreamTable));
            if (downstreamTable.isIndependent()) {
                table.withSetRuns();
            }
        }
        targets.put(relationId, table);
        return table;
    }

    private void requireTransaction(String what) {
        if (!inTransaction) {
            throw new IllegalStateException(what + " outside a transaction: the upstream broke the pgoutput protocol");
        }
    }
}
