package io.pgrelay.apply;

import io.pgrelay.decode.PgOutputMessage.Column;
import io.pgrelay.decode.PgOutputMessage.Delete;
import io.pgrelay.decode.PgOutputMessage.Insert;
import io.pgrelay.decode.PgOutputMessage.Relation;
import io.pgrelay.decode.PgOutputMessage.ReplicaIdentity;
import io.pgrelay.decode.PgOutputMessage.Update;
import io.pgrelay.decode.TupleData;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a row change may collide with on the downstream, as strings: two transactions whose key
 * sets are disjoint can apply on separate connections in either order and end in the same state,
 * and neither waits on a lock of the other.
 *
 * <p>A row's key is its table and replica-identity values; an UPDATE that changes the key has
 * both its old and its new key. A whole table is one key when rows cannot be told apart safely:
 * no replica identity, REPLICA IDENTITY FULL, a unique or exclusion constraint on other columns
 * (two rows of different keys may still collide), or a key type whose text is not one value per
 * text (numeric prints 1.0 and 1.00 for equal values). Tables linked by foreign keys are one key
 * together: an insert into the child needs the parent's row committed. A table that runs
 * triggers or rules may touch anything: it is a barrier, see {@link #isBarrier}.
 *
 * <p>Not thread-safe: owned by the apply thread.
 */
final class ConflictKeys {

    /**
     * Types whose text output is canonical: equal values print the same text, so equal text
     * means the same key. int2, int4, int8, oid, bool, text, varchar, bpchar, name, uuid, date,
     * timestamp, timestamptz, bytea.
     */
    private static final Set<Integer> CANONICAL_TEXT_TYPES = Set.of(21, 23, 20, 26, 16, 25, 1043, 1042, 19, 2950,
            1082, 1114, 1184, 17);

    /** How one relation's rows turn into keys, worked out once per Relation message. */
    private record Shape(String table, String tableKey, int[] keyColumns, boolean barrier) {
        boolean perRow() {
            return keyColumns != null;
        }
    }

    private final DownstreamConstraints constraints;
    private final Map<Integer, Shape> shapes = new HashMap<>();
    private final Map<Integer, Relation> relations = new HashMap<>();

    ConflictKeys(DownstreamConstraints constraints) {
        this.constraints = constraints;
    }

    /**
     * Learns a relation's shape; true when it changed (a barrier). The upstream sends a Relation
     * again after any invalidation of its cache entry (a VACUUM updating statistics is enough),
     * mostly unchanged.
     */
    boolean relation(Relation relation) {
        Relation known = relations.put(relation.relationId(), relation);
        shapes.put(relation.relationId(), shape(relation));
        return known != null && !known.equals(relation);
    }

    /** True when changes to this relation must not overlap with any other transaction. */
    boolean isBarrier(int relationId) {
        return shape(relationId).barrier();
    }

    void insert(Insert insert, Set<String> keys) {
        Shape shape = shape(insert.relationId());
        add(shape, insert.newTuple(), keys);
    }

    void update(Update update, Set<String> keys) {
        Shape shape = shape(update.relationId());
        if (update.oldTuple() != null) {
            add(shape, update.oldTuple(), keys);
        }
        add(shape, update.newTuple(), keys);
    }

    void delete(Delete delete, Set<String> keys) {
        add(shape(delete.relationId()), delete.oldTuple(), keys);
    }

    private void add(Shape shape, TupleData tuple, Set<String> keys) {
        String key = shape.perRow() && tuple != null ? rowKey(shape.table(), shape.keyColumns(), tuple) : null;
        keys.add(key != null ? key : shape.tableKey());
    }

    /**
     * The row's key as one string: the table and the key columns' text, or null when the tuple
     * does not carry every key value. Equal strings mean the same row: the key types print each
     * value one way only ({@link #rowKeyColumns}).
     */
    static String rowKey(String table, int[] keyColumns, TupleData tuple) {
        StringBuilder key = new StringBuilder(table.length() + 16).append(table);
        for (int column : keyColumns) {
            if (column >= tuple.size() || tuple.isUnchangedToast(column)) {
                return null;
            }
            String value = tuple.kind(column) == TupleData.Kind.TEXT ? tuple.text(column) : null;
            // Length-prefixed, so no two different value lists make the same string.
            key.append('\u0000').append(value == null ? -1 : value.length()).append(':');
            if (value != null) {
                key.append(value);
            }
        }
        return key.toString();
    }

    private Shape shape(int relationId) {
        Shape shape = shapes.get(relationId);
        if (shape == null) {
            throw new IllegalStateException("change for relation id " + relationId
                    + " before its Relation message: the upstream broke the pgoutput protocol");
        }
        return shape;
    }

    private Shape shape(Relation relation) {
        String table = Sql.qualified(relation.namespace(), relation.name());
        DownstreamConstraints.Table traits = constraints.table(table);
        String tableKey = traits.fkGroup() != null ? "fk\u0000" + traits.fkGroup() : "table\u0000" + table;
        int[] keyColumns = traits.fkGroup() == null ? rowKeyColumns(relation, traits) : null;
        return new Shape(table, tableKey, keyColumns, traits.runsCode());
    }

    /**
     * The replica-identity columns when rows can be keyed by them, else null (the table is one
     * key): an identity of key columns whose types print each value one way only, and no other
     * unique or exclusion constraint downstream, so rows with different keys never meet.
     */
    static int[] rowKeyColumns(Relation relation, DownstreamConstraints.Table traits) {
        if (relation.replicaIdentity() == ReplicaIdentity.FULL || relation.replicaIdentity() == ReplicaIdentity.NOTHING) {
            return null;
        }
        List<Integer> positions = new ArrayList<>();
        Set<String> names = new HashSet<>();
        List<Column> columns = relation.columns();
        for (int i = 0; i < columns.size(); i++) {
            Column column = columns.get(i);
            if (column.key()) {
                if (!CANONICAL_TEXT_TYPES.contains(column.typeOid())) {
                    return null;
                }
                positions.add(i);
                names.add(column.name());
            }
        }
        if (positions.isEmpty() || !traits.uniqueOnlyOn(names)) {
            return null;
        }
        return positions.stream().mapToInt(Integer::intValue).toArray();
    }
}
