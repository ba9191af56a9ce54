package io.pgrelay.apply;

import io.pgrelay.decode.TupleData;

/**
 * One row change ready for the downstream: SQL text (shared by every row of the same shape,
 * so rows batch together), its parameter values in text form (null = SQL NULL), and what is
 * needed to name the row if the downstream refuses it. {@code expectsRow}: the statement
 * must change exactly one existing row, else the conflict policy decides. {@code multiRow}:
 * for inserts, the same statement for many rows at once (null for updates and deletes).
 * {@code unnest}: for updates and deletes by key, one statement for a run of rows, where it
 * may be used (null otherwise).
 */
record RowStatement(String sql, String[] params, Operation operation, boolean expectsRow,
                    TargetTable table, TupleData keySource, boolean keyFromOldTuple, MultiRowInsert multiRow,
                    UnnestStatement unnest) {

    RowStatement(String sql, String[] params, Operation operation, boolean expectsRow,
                 TargetTable table, TupleData keySource, boolean keyFromOldTuple, MultiRowInsert multiRow) {
        this(sql, params, operation, expectsRow, table, keySource, keyFromOldTuple, multiRow, null);
    }

    enum Operation {
        INSERT, UPDATE, DELETE;

        private final String label = name().toLowerCase(java.util.Locale.ROOT);

        /** The metrics label. */
        String label() {
            return label;
        }
    }

    /** The replica identity values of the row, for error messages. */
    String describeKey() {
        return table.describeKey(keySource, keyFromOldTuple);
    }
}
