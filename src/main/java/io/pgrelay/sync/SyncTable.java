package io.pgrelay.sync;

import io.pgrelay.sql.Identifiers;
import java.util.List;

/**
 * One table of the initial copy, as the source describes it: the same schema-qualified name is
 * the downstream target.
 *
 * @param partitioned true for a partitioned table published through its root: read with its
 *                    partitions ({@code FROM t}, not {@code FROM ONLY t})
 * @param columns     the published, non-generated columns, in source order, with their types
 * @param rowFilter   the publication's row filter (SQL boolean expression), or null
 * @param estimatedRows the source's {@code reltuples}; 0 when unknown (never analyzed)
 */
record SyncTable(String schema, String name, boolean partitioned, List<Column> columns, String rowFilter,
                 long estimatedRows) {

    /** A column and its type as {@code format_type} spells it; {@code builtin} = a type OID below 16384. */
    record Column(String name, String type, boolean builtin) {}

    SyncTable {
        columns = List.copyOf(columns);
    }

    /** {@code schema.table}, unquoted: for logs and metric labels. */
    String label() {
        return schema + "." + name;
    }

    String qualified() {
        return quote(schema) + "." + quote(name);
    }

    String columnList() {
        StringBuilder list = new StringBuilder();
        for (Column column : columns) {
            if (list.length() > 0) {
                list.append(", ");
            }
            list.append(quote(column.name()));
        }
        return list.toString();
    }

    static String quote(String identifier) {
        return Identifiers.quote(identifier);
    }
}
