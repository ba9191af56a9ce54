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

    /**
     * {@code comparable} is false for types such as json, xml or point that have no '=' operator.
     * {@code castable}: the type by its catalog name, without modifier ({@code pg_catalog.bpchar}
     * for {@code character(84)}), for casts whose result is then assigned to the column: an
     * explicit cast with the modifier would cut a value that the column must refuse, and SQL's
     * own spelling without one means a length of 1 ({@code character}, {@code bit}).
     */
    record ColumnType(String formatted, boolean comparable, String castable) {

        /** A type without a modifier. */
        ColumnType(String formatted, boolean comparable) {
            this(formatted, comparable, formatted);
        }
    }

    ColumnType column(String name) {
        return columns.get(name);
    }

    List<String> columnNames() {
        return List.copyOf(columns.keySet());
    }
}
