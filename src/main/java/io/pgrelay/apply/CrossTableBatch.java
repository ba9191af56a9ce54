package io.pgrelay.apply;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Rows of one downstream transaction (a group of upstream transactions), held per target table so
 * that rows of different tables that arrive interleaved (pgbench: accounts, tellers, branches,
 * history, again and again) still form long runs for {@link StatementBatch}: one COPY, multi-row
 * insert or JDBC batch per table instead of one round trip per row.
 *
 * <p><b>Why the reordering cannot be seen.</b> Only rows of <em>independent</em> tables are held
 * ({@link DownstreamConstraints.Table#isIndependent()}: no foreign key in either direction, no
 * inheritance or partition link, no enabled user trigger, no rule), and only within one downstream
 * transaction:
 * <ul>
 *   <li>Each table's rows keep their upstream order, so each table goes through the same sequence
 *       of states as upstream and ends in the same final state; the group's other tables are
 *       never read by a write to an independent table.</li>
 *   <li>Unique, primary-key and exclusion constraints are checked within one table: they see the
 *       same sequence of rows as before, so they pass or fail exactly as they would in order.
 *       CHECK and NOT NULL look at one row.</li>
 *   <li>The conflict policy decides per row from that row's own table (does the key exist, did
 *       the update find its row), so {@code skip} and {@code upsert} reach the same outcomes.</li>
 *   <li>Nobody else sees the order: the rows are invisible to other sessions until the group
 *       commits as a whole, together with its checkpoint, and a failure rolls the group back
 *       whole.</li>
 * </ul>
 * A foreign key makes one table's writes valid or not depending on another's (a child row
 * inserted right after its parent), an UPDATE or DELETE of an inheritance parent reaches its
 * children's rows, and a trigger or rule can read or write any table, so their position among
 * the other tables' rows matters: rows of such tables are never held. Before one is sent, every
 * held row goes first, so it meets exactly the state it would in upstream order. A table the
 * session's catalog read did not list counts as running code.
 *
 * <p><b>Folding.</b> An UPDATE of a held row that an earlier held UPDATE of the same table already
 * changed (same SQL, so the same columns; key unchanged) replaces that earlier UPDATE in place,
 * with its own values and LSN: the row then goes from its state before the group to its last
 * state in one statement. Only for tables whose rows have a key ({@link TargetTable#rowKey}: no
 * other unique or exclusion constraint, key types that print each value one way), so no other
 * row's write depends on this row's intermediate values; an INSERT or DELETE of the key, or any
 * key change in the table, ends folding for it. The conflict policy meets the same row (an UPDATE
 * of a missing row is still one), and the group still commits or rolls back whole.
 *
 * <p>Not covered by the catalog read: a CHECK constraint or a row-security policy that calls a
 * function reading other tables (PostgreSQL documents such CHECKs as unsupported), and a foreign
 * key or trigger added downstream while the session runs (it is seen from the next session on).
 *
 * <p><b>Bounded memory.</b> At most {@code maxRows} rows are kept in all: held rows of every table
 * plus the run {@link StatementBatch} holds itself, as many as one run alone may hold without
 * this class, so memory does not grow with transaction or group size (DESIGN.md invariant 6);
 * reaching the limit sends everything held. The held tables are forgotten at each send.
 *
 * <p><b>Errors.</b> Each held row keeps the LSN of its transaction, and runs go through
 * {@link StatementBatch} unchanged (savepoint, replay one row at a time), so a refused row is named
 * exactly with its table, key and LSN. When several rows of one group would be refused, the one
 * named may be a later one of another table; the checkpoint stays before the group either way.
 *
 * <p>Not thread-safe: owned by the apply thread.
 */
final class CrossTableBatch {

    private final StatementBatch batch;
    private final int maxRows;
    /** Held rows by downstream table, in the order the tables first appeared. */
    private final Map<String, TableRows> held = new LinkedHashMap<>();
    private int heldRows;

    /** One table's held rows in upstream order, each with the LSN of its transaction. */
    private static final class TableRows {
        final List<RowStatement> rows = new ArrayList<>();
        long[] lsns = new long[16];
        /** By row key: the held UPDATE that a later UPDATE of the same row may replace. */
        final Map<String, Integer> lastUpdate = new HashMap<>();

        /** Holds the row, or folds it into an earlier held UPDATE of the same row; true when folded. */
        boolean add(RowStatement row, long lsn) {
            String key = foldKey(row);
            if (key != null) {
                Integer earlier = lastUpdate.get(key);
                if (earlier != null && rows.get(earlier).sql().equals(row.sql())) {
                    rows.set(earlier, row);
                    lsns[earlier] = lsn;
                    return true;
                }
            } else {
                forget(row);
            }
            if (rows.size() == lsns.length) {
                lsns = Arrays.copyOf(lsns, lsns.length * 2);
            }
            lsns[rows.size()] = lsn;
            rows.add(row);
            if (key != null) {
                lastUpdate.put(key, rows.size() - 1);
            }
            return false;
        }

        /** The row's key when it is an UPDATE that leaves its key as it is (pgoutput sent no old key). */
        private static String foldKey(RowStatement row) {
            return row.operation() == RowStatement.Operation.UPDATE && !row.keyFromOldTuple()
                    ? row.table().rowKey(row.keySource()) : null;
        }

        /**
         * Any other change of a row ends folding into its earlier UPDATE: an INSERT or DELETE of
         * the key, an UPDATE that moves a key (all of them, as the new key is not at hand), or a
         * row without a key.
         */
        private void forget(RowStatement row) {
            if (lastUpdate.isEmpty()) {
                return;
            }
            String key = row.operation() == RowStatement.Operation.UPDATE ? null : row.table().rowKey(row.keySource());
            if (key == null) {
                lastUpdate.clear();
            } else {
                lastUpdate.remove(key);
            }
        }
    }

    CrossTableBatch(StatementBatch batch, int maxRows) {
        this.batch = batch;
        this.maxRows = maxRows;
    }

    /**
     * Holds a row of an independent table; sends everything held once {@code maxRows} rows wait in
     * all. A row that can start or extend the run being built, with no earlier row of its table
     * held, goes straight to that run instead: it may pass held rows of other independent tables,
     * and a run of one table alone (bulk inserts) keeps streaming into its COPY as rows arrive.
     */
    boolean hold(RowStatement row, long lsn) throws SQLException {
        String table = row.table().qualifiedName();
        TableRows rows = held.get(table);
        if (rows == null && (batch.pendingRows() == 0 || batch.extendsRun(row))) {
            batch.add(row, lsn);
        } else {
            if (rows == null) {
                rows = new TableRows();
                held.put(table, rows);
            }
            if (rows.add(row, lsn)) {
                return true;
            }
            heldRows++;
        }
        if (heldRows > 0 && heldRows + batch.pendingRows() >= maxRows) {
            sendHeld();
        }
        return false;
    }

    /** Adds a row that keeps its exact position: every held row goes before it. */
    void addInOrder(RowStatement row, long lsn) throws SQLException {
        sendHeld();
        batch.add(row, lsn);
    }

    /** Executes everything held and pending (a flush point: commit, TRUNCATE, Relation, catalog lookup). */
    void flush() throws SQLException {
        sendHeld();
        batch.flush();
    }

    /** The downstream transaction ended (commit or rollback). */
    void transactionEnded() {
        batch.transactionEnded();
    }

    /** Drops everything held and pending: the downstream transaction is about to be rolled back. */
    void close() {
        clearHeld();
        batch.close();
    }

    /** Table by table, each table's rows in upstream order: consecutive equal statements form one run. */
    private void sendHeld() throws SQLException {
        if (heldRows == 0) {
            return;
        }
        try {
            for (TableRows table : held.values()) {
                for (int i = 0; i < table.rows.size(); i++) {
                    batch.add(table.rows.get(i), table.lsns[i]);
                }
            }
        } finally {
            clearHeld(); // sent, or failed: the group rolls back either way
        }
    }

    private void clearHeld() {
        held.clear();
        heldRows = 0;
    }
}
