package io.pgrelay.apply;

import java.util.HashMap;
import java.util.Map;

/**
 * One insert shape (table, columns, conflict clause) written for many rows at once:
 * {@code INSERT INTO t (a, b) VALUES (?, ?), (?, ?), … [ON CONFLICT …]}. The server coerces
 * every VALUES row to the target columns exactly as for a single row, so parameters of
 * unspecified type still parse with each column's input function.
 *
 * <p>When no conflict clause is needed the rows can go as COPY instead: COPY parses each text
 * with the column's input function too, and skips rules just as native logical replication does.
 *
 * <p>A statement carries at most {@value #MAX_PARAMETERS} parameters (the wire protocol's
 * limit) and at most {@value #MAX_ROWS} rows: larger statements cost more to plan than they
 * save in round trips.
 */
final class MultiRowInsert {

    static final int MAX_PARAMETERS = 32_767;
    static final int MAX_ROWS = 128;

    private final String head;
    private final String tuple;
    private final String tail;
    private final int rowsPerStatement;
    private final String copySql;
    private final Map<Integer, String> sqlByRows = new HashMap<>();

    /**
     * @param head  {@code INSERT INTO t (cols) VALUES }
     * @param width parameters per row
     * @param tail  the conflict clause, or empty
     * @param copySql {@code COPY t (cols) FROM STDIN} when COPY may carry these rows (no conflict
     *                clause to honour), else null
     */
    MultiRowInsert(String head, int width, String tail, String copySql) {
        this.head = head;
        this.copySql = copySql;
        this.tuple = "(" + String.join(", ", java.util.Collections.nCopies(width, "?")) + ")";
        this.tail = tail;
        this.rowsPerStatement = Math.max(1, Math.min(MAX_ROWS, MAX_PARAMETERS / Math.max(1, width)));
    }

    /** Rows in one full statement. */
    int rowsPerStatement() {
        return rowsPerStatement;
    }

    /** {@code COPY t (cols) FROM STDIN}, or null when the rows need INSERT (a conflict clause). */
    String copySql() {
        return copySql;
    }

    /** The statement for {@code rows} rows (at most {@link #rowsPerStatement()}). */
    String sql(int rows) {
        return sqlByRows.computeIfAbsent(rows, n -> {
            StringBuilder sql = new StringBuilder(head.length() + n * (tuple.length() + 2) + tail.length()).append(head);
            for (int i = 0; i < n; i++) {
                if (i > 0) {
                    sql.append(", ");
                }
                sql.append(tuple);
            }
            return sql.append(tail).toString();
        });
    }
}
