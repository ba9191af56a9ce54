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
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.StringJoiner;
import org.postgresql.replication.LogSequenceNumber;

/**
 * Applies upstream transactions to the downstream on one connection, grouping several upstream
 * transactions into one downstream transaction and writing the checkpoint in that same
 * transaction (DESIGN.md invariant 2).
 *
 * <p>Changes are sent as they arrive (in JDBC batches), never collected per transaction, so
 * memory does not grow with transaction size. A group is only ever committed at an upstream
 * commit boundary; a partial upstream transaction is rolled back, never committed.
 *
 * <p>Transactions whose commit LSN is below the checkpoint read at start are skipped: they were
 * applied before a crash that happened after the downstream commit but before the upstream
 * heard about it.
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
    private final StatementBatch batch;
    private final RelationCheck relationCheck;

    private Checkpoint durable;
    private Checkpoint pending;
    private int groupChanges;
    private boolean inTransaction;
    private boolean skipping;
    /** True once this session locked and checked the checkpoint row (CheckpointStore#fence). */
    private boolean fenced;
    private long transactionLsn;
    private long groupStarted;

    /**
     * @param connection a downstream connection this applier owns until {@link #close()}
     * @param durable    the checkpoint read from the downstream at session start
     */
    public ChangeApplier(Connection connection, CheckpointStore checkpoints, Checkpoint durable,
                         ConflictPolicy policy, int batchSize, ApplyListener listener) throws SQLException {
        this(connection, checkpoints, durable, policy, batchSize, listener, RelationCheck.NONE);
    }

    /** As above, with a check of every Relation message against the downstream (schema drift). */
    public ChangeApplier(Connection connection, CheckpointStore checkpoints, Checkpoint durable,
                         ConflictPolicy policy, int batchSize, ApplyListener listener,
                         RelationCheck relationCheck) throws SQLException {
        this.relationCheck = relationCheck;
        this.connection = connection;
        this.checkpoints = checkpoints;
        this.durable = durable;
        this.policy = policy;
        this.listener = listener;
        connection.setAutoCommit(false);
        this.batch = new StatementBatch(connection, policy, batchSize);
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
     * @return the new durable checkpoint
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
        durable = pending;
        pending = null;
        listener.groupCommitted(durable, groupChanges, System.nanoTime() - groupStarted);
        groupChanges = 0;
        return durable;
    }

    /**
     * Moves the checkpoint to an upstream position that carries no transaction for us (the
     * upstream said so in a keepalive while nothing was in flight), so the upstream slot can
     * release WAL on an idle database.
     */
    public Checkpoint advanceIdle(LogSequenceNumber upstreamEnd) throws SQLException {
        if (inTransaction || pending != null || durable.covers(upstreamEnd) || durable.endLsn().equals(upstreamEnd)) {
            return durable;
        }
        Checkpoint advanced = new Checkpoint(upstreamEnd, durable.commitTime());
        fence();
        checkpoints.write(connection, advanced);
        connection.commit();
        durable = advanced;
        listener.groupCommitted(durable, 0, 0);
        return durable;
    }

    /** Drops whatever is not committed: the rest of an upstream transaction and the open group. */
    public void rollback() throws SQLException {
        batch.close();
        pending = null;
        groupChanges = 0;
        inTransaction = false;
        skipping = false;
        fenced = false;
        connection.rollback();
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
        listener.transactionApplied(commit);
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
        if (skipping) {
            return;
        }
        TargetTable table = target(relationId);
        RowStatement row = builder.build(table);
        batch.add(row, transactionLsn);
        groupChanges++;
        listener.rowApplied(table.relation(), row.operation().label());
    }

    private void truncate(Truncate truncate) throws SQLException {
        requireTransaction("truncate");
        if (skipping) {
            return;
        }
        batch.flush();
        StringJoiner tables = new StringJoiner(", ");
        for (int relationId : truncate.relationIds()) {
            tables.add(target(relationId).qualifiedName());
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
        for (int relationId : truncate.relationIds()) {
            listener.rowApplied(relations.get(relationId), "truncate");
        }
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
        // Flush first: the catalog lookup may roll back to a savepoint, which must not
        // interleave with rows that are bound but not yet sent.
        batch.flush();
        table = new TargetTable(relation, catalog.describe(connection, relation, full), policy);
        targets.put(relationId, table);
        return table;
    }

    private void requireTransaction(String what) {
        if (!inTransaction) {
            throw new IllegalStateException(what + " outside a transaction: the upstream broke the pgoutput protocol");
        }
    }
}
