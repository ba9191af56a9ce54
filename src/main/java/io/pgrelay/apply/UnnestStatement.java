package io.pgrelay.apply;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One UPDATE or DELETE for a whole run of rows matched by key: each parameter position of the
 * single-row statement becomes one text array, and the statement joins the table to their
 * {@code unnest}, e.g. {@code UPDATE ONLY t AS r SET "a" = v.p1::integer FROM unnest(?::text[],
 * ?::text[]) AS v(p1, p2) WHERE r."id" = v.p2::integer}. The downstream plans and runs one
 * statement instead of one per row, and the relay binds a handful of parameters instead of every
 * row's.
 *
 * <p>Values still reach each column through its type's input function: cast from text to the
 * column's type without its modifier, so assigning to the column checks the length or precision
 * exactly as binding the single-row statement would (an explicit cast to {@code varchar(3)} would
 * cut a longer value silently).
 *
 * <p>Only where it means the same as the rows one by one ({@link #fits}): every key of the run
 * distinct and unchanged by the run, so each array row meets the row the single-row statement
 * would have met; the caller checks that the statement changed exactly as many rows as the run
 * has, and replays the run row by row otherwise (a missing row, a refused value).
 */
final class UnnestStatement {

    /** Below this many rows a JDBC batch of single-row statements is as quick. */
    static final int MIN_ROWS = 8;

    private final String sql;
    private final int width;
    private final int keyWidth;
    private final boolean update;

    /**
     * @param sql      the statement, with {@code width} array parameters
     * @param width    parameters per row of the single-row statement, in its order
     * @param keyWidth how many of them, at the end, are the key
     */
    UnnestStatement(String sql, int width, int keyWidth, boolean update) {
        this.sql = sql;
        this.width = width;
        this.keyWidth = keyWidth;
        this.update = update;
    }

    String sql() {
        return sql;
    }

    /** True when one statement does exactly what the rows one by one would. */
    boolean fits(List<RowStatement> rows) {
        if (rows.size() < MIN_ROWS) {
            return false;
        }
        Set<List<String>> keys = new HashSet<>();
        for (RowStatement row : rows) {
            if (update && row.keyFromOldTuple()) {
                return false; // a key that moves could be the key a later row of the run looks for
            }
            String[] params = row.params();
            if (!keys.add(Arrays.asList(params).subList(width - keyWidth, width))) {
                return false; // one row changed twice: the join would change it once
            }
        }
        return true;
    }

    /** The run's values as {@code width} text-array literals, one per parameter position. */
    String[] arrays(List<RowStatement> rows) {
        StringBuilder[] arrays = new StringBuilder[width];
        for (int p = 0; p < width; p++) {
            arrays[p] = new StringBuilder(rows.size() * 8 + 2).append('{');
        }
        for (int r = 0; r < rows.size(); r++) {
            String[] params = rows.get(r).params();
            for (int p = 0; p < width; p++) {
                StringBuilder array = arrays[p];
                if (r > 0) {
                    array.append(',');
                }
                appendElement(array, params[p]);
            }
        }
        String[] literals = new String[width];
        for (int p = 0; p < width; p++) {
            literals[p] = arrays[p].append('}').toString();
        }
        return literals;
    }

    /** NULL bare, every other value double-quoted with its quotes and backslashes escaped. */
    private static void appendElement(StringBuilder array, String value) {
        if (value == null) {
            array.append("NULL");
            return;
        }
        array.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                array.append('\\');
            }
            array.append(c);
        }
        array.append('"');
    }
}
