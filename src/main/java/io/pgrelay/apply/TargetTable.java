package io.pgrelay.apply;

import io.pgrelay.apply.RowStatement.Operation;
import io.pgrelay.config.ConflictPolicy;
import io.pgrelay.decode.PgOutputMessage.Column;
import io.pgrelay.decode.PgOutputMessage.Delete;
import io.pgrelay.decode.PgOutputMessage.Insert;
import io.pgrelay.decode.PgOutputMessage.OldTupleKind;
import io.pgrelay.decode.PgOutputMessage.Relation;
import io.pgrelay.decode.PgOutputMessage.ReplicaIdentity;
import io.pgrelay.decode.PgOutputMessage.Update;
import io.pgrelay.decode.TupleData;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * Turns row changes of one upstream relation into downstream statements.
 *
 * <p>Values are bound as parameters of unspecified type, so the downstream parses each text with
 * the column's own input function: every type round-trips exactly. Statements are cached per
 * shape (operation + which columns are present), so equal shapes share SQL and batch together.
 *
 * <p>Rows are matched on the replica identity: the key columns (DEFAULT, USING INDEX) compared
 * with '=', or under FULL every sent column compared with IS NOT DISTINCT FROM (as text for types
 * without '='), limited to one row as PostgreSQL's own apply does when duplicate rows exist.
 */
final class TargetTable {

    private static final int MAX_KEY_TEXT = 64;

    private final Relation relation;
    private final DownstreamTable downstream;
    private final ConflictPolicy policy;
    private final boolean fullIdentity;
    private final BitSet keyColumns = new BitSet();
    private final Map<String, String> sqlByShape = new HashMap<>();
    private final Map<String, MultiRowInsert> insertsByShape = new HashMap<>();
    private InsertShape allColumnsInsert;
    /** UPDATE SQL for every column sent and a key match: [plain, upsert] (see {@link #update}). */
    private final String[] keyedUpdateSql = new String[2];
    private String keyedDeleteSql;
    /** True when runs of updates and deletes by key may go as one statement (see {@link #withSetRuns}). */
    private boolean setRuns;
    private UnnestStatement keyedUpdateRun;
    private UnnestStatement keyedDeleteRun;
    private BitSet allColumns;
    /** Replica-identity column positions that tell rows apart, or null (see {@link #withRowKeys}). */
    private int[] rowKeyColumns;

    private record InsertShape(String sql, MultiRowInsert multiRow, BitSet columns) {}

    TargetTable(Relation relation, DownstreamTable downstream, ConflictPolicy policy) {
        this.relation = relation;
        this.downstream = downstream;
        this.policy = policy;
        this.fullIdentity = relation.replicaIdentity() == ReplicaIdentity.FULL;
        List<Column> columns = relation.columns();
        for (int i = 0; i < columns.size(); i++) {
            if (columns.get(i).key()) {
                keyColumns.set(i);
            }
        }
    }

    Relation relation() {
        return relation;
    }

    String qualifiedName() {
        return downstream.qualifiedName();
    }

    /**
     * Lets rows of this table be told apart by key ({@link #rowKey}); {@code keyColumns} from
     * {@link ConflictKeys#rowKeyColumns}, null when they cannot be. Set once, before the first row.
     */
    TargetTable withRowKeys(int[] keyColumns) {
        this.rowKeyColumns = keyColumns;
        return this;
    }

    /**
     * Lets runs of updates and deletes matched by key go as one statement each
     * ({@link UnnestStatement}); only for a table whose rows {@link #withRowKeys} can tell apart
     * and that nothing else depends on (no trigger, rule or foreign key: the rows of a run then
     * take effect in one statement, not one after the other). Set once, before the first row.
     */
    TargetTable withSetRuns() {
        this.setRuns = rowKeyColumns != null;
        return this;
    }

    /** The row's key (see {@link ConflictKeys#rowKey}), or null when rows of this table have none or the tuple lacks it. */
    String rowKey(TupleData tuple) {
        return rowKeyColumns == null || tuple == null ? null : ConflictKeys.rowKey(qualifiedName(), rowKeyColumns, tuple);
    }

    /** How TRUNCATE names the table: its own rows only (see {@link DownstreamTable#ownRows()}). */
    String truncateTarget() {
        return downstream.ownRows();
    }

    RowStatement insert(Insert insert) {
        TupleData row = insert.newTuple();
        if (allColumnsInsert != null && !row.hasUnchangedToast() && row.size() == relation.columns().size()) {
            // The common shape, kept at hand: no shape string to build per row.
            return new RowStatement(allColumnsInsert.sql, values(row, allColumnsInsert.columns), Operation.INSERT, false,
                    this, row, false, allColumnsInsert.multiRow);
        }
        BitSet present = sentColumns(row);
        String shape = "I" + present;
        String sql = sqlByShape.computeIfAbsent(shape, s -> insertHead(present) + "(" + placeholders(present.cardinality())
                + ")" + insertTail(present));
        MultiRowInsert multiRow = insertsByShape.computeIfAbsent(shape,
                s -> new MultiRowInsert(insertHead(present), present.cardinality(), insertTail(present),
                        insertTail(present).isEmpty() ? "COPY " + qualifiedName() + " (" + columnList(present) + ") FROM STDIN" : null));
        if (present.cardinality() == relation.columns().size()) {
            allColumnsInsert = new InsertShape(sql, multiRow, present);
        }
        return new RowStatement(sql, values(row, present), Operation.INSERT, false, this, row, false, multiRow);
    }

    RowStatement update(Update update, long lsnForErrors) {
        TupleData row = update.newTuple();
        Match match = match(update.oldKind(), update.oldTuple(), row, lsnForErrors);
        boolean upsert = policy == ConflictPolicy.UPSERT && canUpsert(row);
        boolean common = !match.nullSafe() && !row.hasUnchangedToast() && row.size() == relation.columns().size();
        BitSet set = common ? allColumns() : sentColumns(row);
        String sql;
        if (common) {
            // The common shape (every column sent, matched by key), kept at hand: no shape
            // string to build per row.
            int form = upsert ? 1 : 0;
            if (keyedUpdateSql[form] == null) {
                keyedUpdateSql[form] = upsert ? upsertUpdateSql(set, match) : updateSql(set, match);
            }
            sql = keyedUpdateSql[form];
        } else {
            String shape = (upsert ? "V" : "U") + set + match.shape();
            sql = sqlByShape.computeIfAbsent(shape, s -> upsert ? upsertUpdateSql(set, match) : updateSql(set, match));
        }
        int width = set.cardinality();
        String[] params = new String[width + match.columns().cardinality() + (upsert ? width : 0)];
        int next = putValues(params, 0, row, set);
        next = putValues(params, next, match.tuple(), match.columns());
        if (upsert) {
            putValues(params, next, row, set);
        }
        UnnestStatement run = null;
        if (common && !upsert && setRuns) {
            if (keyedUpdateRun == null) {
                keyedUpdateRun = unnestUpdate(set);
            }
            run = keyedUpdateRun;
        }
        // The upsert form reports inserted rows: zero means "updated in place", not a conflict.
        return new RowStatement(sql, params, Operation.UPDATE, !upsert, this, match.tuple(), match.fromOld(), null, run);
    }

    /** Every column of the relation, made once. */
    private BitSet allColumns() {
        if (allColumns == null) {
            allColumns = new BitSet();
            allColumns.set(0, relation.columns().size());
        }
        return allColumns;
    }

    RowStatement delete(Delete delete, long lsnForErrors) {
        Match match = match(delete.oldKind(), delete.oldTuple(), null, lsnForErrors);
        String sql;
        if (match.nullSafe()) {
            sql = sqlByShape.computeIfAbsent("D" + match.shape(), s -> deleteSql(match));
        } else {
            if (keyedDeleteSql == null) {
                keyedDeleteSql = deleteSql(match); // matched by key: one shape for every row
            }
            sql = keyedDeleteSql;
        }
        UnnestStatement run = null;
        if (!match.nullSafe() && setRuns) {
            if (keyedDeleteRun == null) {
                keyedDeleteRun = unnestDelete();
            }
            run = keyedDeleteRun;
        }
        return new RowStatement(sql, values(match.tuple(), match.columns()), Operation.DELETE, true, this,
                match.tuple(), true, null, run);
    }

    /** Which row to change, taken from the old tuple if one was sent, else from the new row's key. */
    private record Match(TupleData tuple, BitSet columns, boolean nullSafe, boolean fromOld) {
        String shape() {
            return (nullSafe ? "F" : "K") + columns;
        }
    }

    private Match match(OldTupleKind oldKind, TupleData oldTuple, TupleData newTuple, long lsnForErrors) {
        if (oldKind == OldTupleKind.FULL) {
            return new Match(oldTuple, sentColumns(oldTuple), true, true);
        }
        if (keyColumns.isEmpty()) {
            throw ApplyException.setup("upstream table " + relation.qualifiedName()
                    + " has no usable replica identity (REPLICA IDENTITY " + relation.replicaIdentity()
                    + ") at LSN " + Lsns.format(lsnForErrors)
                    + ": add a primary key or set REPLICA IDENTITY FULL or USING INDEX on the upstream");
        }
        TupleData source = oldKind == OldTupleKind.KEY ? oldTuple : newTuple;
        return new Match(source, keyColumns, false, oldKind == OldTupleKind.KEY);
    }

    /** An update becomes an upsert only when the whole new row is known and a key can find it again. */
    private boolean canUpsert(TupleData row) {
        return !fullIdentity && !keyColumns.isEmpty() && !row.hasUnchangedToast();
    }

    /** {@code UPDATE … SET (the set columns) FROM unnest(…) WHERE (the key)}, parameters in update()'s order. */
    private UnnestStatement unnestUpdate(BitSet set) {
        StringJoiner assignments = new StringJoiner(", ");
        int next = 1;
        for (int i = set.nextSetBit(0); i >= 0; i = set.nextSetBit(i + 1)) {
            assignments.add(Sql.quoteIdentifier(columnName(i)) + " = " + element(next++, i));
        }
        int width = set.cardinality() + keyColumns.cardinality();
        return new UnnestStatement("UPDATE " + downstream.ownRows() + " AS r SET " + assignments + unnestFrom(" FROM ", width)
                + " WHERE " + keyJoin(set.cardinality() + 1), width, keyColumns.cardinality(), true);
    }

    private UnnestStatement unnestDelete() {
        int width = keyColumns.cardinality();
        return new UnnestStatement("DELETE FROM " + downstream.ownRows() + " AS r" + unnestFrom(" USING ", width)
                + " WHERE " + keyJoin(1), width, width, false);
    }

    /** {@code FROM unnest(?::text[], …) AS v(p1, …)}. */
    private static String unnestFrom(String keyword, int width) {
        StringJoiner arrays = new StringJoiner(", ", keyword + "unnest(", ")");
        StringJoiner names = new StringJoiner(", ", " AS v(", ")");
        for (int p = 1; p <= width; p++) {
            arrays.add("?::text[]");
            names.add("p" + p);
        }
        return arrays + names.toString();
    }

    /** The key columns, equal to the array elements from position {@code first} on. */
    private String keyJoin(int first) {
        StringJoiner conditions = new StringJoiner(" AND ");
        int next = first;
        for (int i = keyColumns.nextSetBit(0); i >= 0; i = keyColumns.nextSetBit(i + 1)) {
            conditions.add("r." + Sql.quoteIdentifier(columnName(i)) + " = " + element(next++, i));
        }
        return conditions.toString();
    }

    /** Array element {@code position} as the column's type (without modifier: see {@link UnnestStatement}). */
    private String element(int position, int column) {
        return "v.p" + position + "::" + downstream.column(columnName(column)).castable();
    }

    private String insertHead(BitSet present) {
        return "INSERT INTO " + qualifiedName() + " (" + columnList(present) + ") VALUES ";
    }

    private String insertTail(BitSet present) {
        return switch (policy) {
            case SKIP -> " ON CONFLICT DO NOTHING";
            case UPSERT -> !fullIdentity && !keyColumns.isEmpty() ? onConflictUpdate(present) : "";
            case ERROR -> "";
        };
    }

    private String updateSql(BitSet set, Match match) {
        return "UPDATE " + downstream.ownRows() + " SET " + assignments(set) + " WHERE " + where(match);
    }

    /**
     * Updates the row if it exists, else inserts the new row, in one statement so that it
     * batches and keeps order with its neighbours. Parameters of an INSERT … SELECT are not
     * typed by the target columns, so they are cast to the downstream types explicitly.
     */
    private String upsertUpdateSql(BitSet set, Match match) {
        StringJoiner casts = new StringJoiner(", ");
        for (int i = set.nextSetBit(0); i >= 0; i = set.nextSetBit(i + 1)) {
            casts.add("?::" + downstream.column(columnName(i)).castable());
        }
        return "WITH updated AS (" + updateSql(set, match) + " RETURNING 1) INSERT INTO " + qualifiedName()
                + " (" + columnList(set) + ") SELECT " + casts + " WHERE NOT EXISTS (SELECT 1 FROM updated)"
                + onConflictUpdate(set);
    }

    private String deleteSql(Match match) {
        return "DELETE FROM " + downstream.ownRows() + " WHERE " + where(match);
    }

    private String onConflictUpdate(BitSet present) {
        BitSet nonKey = (BitSet) present.clone();
        nonKey.andNot(keyColumns);
        if (nonKey.isEmpty()) {
            return " ON CONFLICT (" + columnList(keyColumns) + ") DO NOTHING";
        }
        StringJoiner sets = new StringJoiner(", ");
        for (int i = nonKey.nextSetBit(0); i >= 0; i = nonKey.nextSetBit(i + 1)) {
            String column = Sql.quoteIdentifier(columnName(i));
            sets.add(column + " = EXCLUDED." + column);
        }
        return " ON CONFLICT (" + columnList(keyColumns) + ") DO UPDATE SET " + sets;
    }

    private String where(Match match) {
        StringJoiner conditions = new StringJoiner(" AND ");
        for (int i = match.columns().nextSetBit(0); i >= 0; i = match.columns().nextSetBit(i + 1)) {
            conditions.add(condition(i, match.nullSafe()));
        }
        if (!match.nullSafe()) {
            return conditions.toString();
        }
        // Under FULL identity duplicate rows are possible: change exactly one, as upstream did.
        return "(tableoid, ctid) = (SELECT tableoid, ctid FROM " + downstream.ownRows() + " WHERE " + conditions + " LIMIT 1)";
    }

    private String condition(int column, boolean nullSafe) {
        String name = Sql.quoteIdentifier(columnName(column));
        if (!nullSafe) {
            return name + " = ?";
        }
        if (downstream.column(columnName(column)).comparable()) {
            return name + " IS NOT DISTINCT FROM ?";
        }
        // No '=' for this type (json, xml, point, ...): compare the output texts, which is
        // what the upstream sent.
        return name + "::text IS NOT DISTINCT FROM ?::text";
    }

    private String assignments(BitSet set) {
        StringJoiner assignments = new StringJoiner(", ");
        for (int i = set.nextSetBit(0); i >= 0; i = set.nextSetBit(i + 1)) {
            assignments.add(Sql.quoteIdentifier(columnName(i)) + " = ?");
        }
        return assignments.toString();
    }

    private String columnList(BitSet columns) {
        StringJoiner list = new StringJoiner(", ");
        for (int i = columns.nextSetBit(0); i >= 0; i = columns.nextSetBit(i + 1)) {
            list.add(Sql.quoteIdentifier(columnName(i)));
        }
        return list.toString();
    }

    private static String placeholders(int count) {
        return String.join(", ", java.util.Collections.nCopies(count, "?"));
    }

    private String columnName(int index) {
        return relation.columns().get(index).name();
    }

    /** Columns whose value was sent: all but unchanged TOAST, which the downstream keeps as is. */
    private BitSet sentColumns(TupleData tuple) {
        requireWidth(tuple);
        BitSet sent = new BitSet(tuple.size());
        for (int i = 0; i < tuple.size(); i++) {
            if (!tuple.isUnchangedToast(i)) {
                sent.set(i);
            }
        }
        return sent;
    }

    private void requireWidth(TupleData tuple) {
        if (tuple.size() != relation.columns().size()) {
            throw new IllegalStateException("tuple of " + tuple.size() + " columns for relation "
                    + relation.qualifiedName() + " of " + relation.columns().size() + " columns");
        }
    }

    private static String[] values(TupleData tuple, BitSet columns) {
        String[] values = new String[columns.cardinality()];
        int next = 0;
        for (int i = columns.nextSetBit(0); i >= 0; i = columns.nextSetBit(i + 1)) {
            values[next++] = tuple.text(i);
        }
        return values;
    }

    /** Puts the values of {@code columns} into {@code params} from {@code next} on; returns the next free index. */
    private static int putValues(String[] params, int next, TupleData tuple, BitSet columns) {
        for (int i = columns.nextSetBit(0); i >= 0; i = columns.nextSetBit(i + 1)) {
            params[next++] = tuple.text(i);
        }
        return next;
    }

    /** The identity values of a row, shortened, for error messages: {@code (id)=(42)}. */
    String describeKey(TupleData tuple, boolean fromOld) {
        if (tuple == null) {
            return "(unknown)";
        }
        BitSet columns = fullIdentity && fromOld ? sentColumns(tuple) : keyColumns;
        if (columns.isEmpty()) {
            columns = sentColumns(tuple);
        }
        StringJoiner names = new StringJoiner(", ", "(", ")");
        StringJoiner values = new StringJoiner(", ", "(", ")");
        for (int i = columns.nextSetBit(0); i >= 0; i = columns.nextSetBit(i + 1)) {
            names.add(columnName(i));
            String value = tuple.isUnchangedToast(i) ? "<unchanged>" : tuple.text(i);
            values.add(value == null ? "NULL" : shorten(value));
        }
        return names + "=" + values;
    }

    private static String shorten(String value) {
        return value.length() <= MAX_KEY_TEXT ? value : value.substring(0, MAX_KEY_TEXT) + "…";
    }
}
