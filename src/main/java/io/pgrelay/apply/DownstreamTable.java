package io.pgrelay.apply;

import java.util.List;
import java.util.Map;

/**
 * What the downstream catalog says about one target table: its columns and their types as
 * {@code format_type} prints them, which of those types have an equality operator, and whether
 * it is partitioned.
 */
record DownstreamTable(String qualifiedName, Map<String, ColumnType> columns, boolean partitioned) {

    DownstreamTable {
        columns = Map.copyOf(columns);
    }

    /** A plain (not partitioned) table. */
    DownstreamTable(String qualifiedName, Map<String, ColumnType> columns) {
        this(qualifiedName, columns, false);
    }

    /**
     * The table as UPDATE, DELETE and TRUNCATE name it so that they reach exactly the rows of this
     * one table, as native apply does: {@code ONLY t}, so rows of inheritance children with the
     * same key are left alone; a partitioned table by its name, so its partitions' rows (its own
     * rows) are reached (and ONLY is an error there).
     */
    String ownRows() {
        return partitioned ? qualifiedName : "ONLY " + qualifiedName;
    }

    /** {@code comparable} is false for types such as json, xml or point that have no '=' operator. */
    record ColumnType(String formatted, boolean comparable) {}

    ColumnType column(String name) {
        return columns.get(name);
    }

    List<String> columnNames() {
        return List.copyOf(columns.keySet());
    }
}
