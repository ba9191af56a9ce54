package io.pgrelay.apply;

import java.util.List;
import java.util.Map;

/**
 * What the downstream catalog says about one target table: its columns and their types as
 * {@code format_type} prints them, and which of those types have an equality operator.
 */
record DownstreamTable(String qualifiedName, Map<String, ColumnType> columns) {

    DownstreamTable {
        columns = Map.copyOf(columns);
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
