package io.pgrelay.apply;

import io.pgrelay.apply.RowStatement.Operation;
import io.pgrelay.config.ConflictPolicy;
import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;

/**
 * A run of consecutive rows with the same SQL, sent as one JDBC batch (one round trip).
 *
 * <p>A row with different SQL ends the run, so downstream order is upstream order. The rows'
 * statements are kept until the batch executes, so that a refused row can be named exactly:
 * pgjdbc reports the failed entry as the first EXECUTE_FAILED update count.
 */
final class StatementBatch {

    private final Connection connection;
    private final ConflictPolicy policy;
    private final int maxRows;
    private final List<RowStatement> rows = new ArrayList<>();
    private final List<Long> lsns = new ArrayList<>();
    private PreparedStatement statement;
    private String sql;
    private long skippedConflicts;

    StatementBatch(Connection connection, ConflictPolicy policy, int maxRows) {
        this.connection = connection;
        this.policy = policy;
        this.maxRows = maxRows;
    }

    /** Adds a row of the transaction committed at {@code lsn}; may execute the batch. */
    void add(RowStatement row, long lsn) throws SQLException {
        if (!row.sql().equals(sql)) {
            flush();
            closeStatement();
            sql = row.sql();
            statement = connection.prepareStatement(sql);
        }
        bind(statement, row.params());
        statement.addBatch();
        rows.add(row);
        lsns.add(lsn);
        if (rows.size() >= maxRows) {
            flush();
        }
    }

    /** Executes what is pending and checks every row's outcome. */
    void flush() throws SQLException {
        if (rows.isEmpty()) {
            return;
        }
        int[] counts;
        try {
            counts = statement.executeBatch();
        } catch (BatchUpdateException e) {
            throw refusedRow(e);
        } catch (SQLException e) {
            if (rows.size() == 1 && SqlStates.isAboutTheData(e.getSQLState())) {
                throw ApplyException.refused(rows.get(0), lsns.get(0), e);
            }
            throw e;
        }
        for (int i = 0; i < counts.length; i++) {
            checkCount(rows.get(i), counts[i], lsns.get(i));
        }
        rows.clear();
        lsns.clear();
    }

    /** Rows left unchanged under apply.conflict=skip/upsert since this batch was created. */
    long skippedConflicts() {
        return skippedConflicts;
    }

    void close() {
        rows.clear();
        lsns.clear();
        closeStatement();
        sql = null;
    }

    private void checkCount(RowStatement row, int count, long lsn) {
        if (!row.expectsRow() || count != 0) {
            return;
        }
        if (policy == ConflictPolicy.ERROR) {
            throw ApplyException.conflict(row, lsn, row.operation() == Operation.UPDATE
                    ? "the row to update does not exist downstream" : "the row to delete does not exist downstream");
        }
        skippedConflicts++;
    }

    /**
     * Names the refused row when the error is about the data; anything else (connection loss,
     * deadlock, shutdown) goes up unchanged for the relay to classify.
     */
    private SQLException refusedRow(BatchUpdateException e) {
        SQLException cause = e.getNextException() != null ? e.getNextException() : e;
        int failed = rows.size() == 1 ? 0 : batchEntry(e);
        if (!SqlStates.isAboutTheData(cause.getSQLState()) || failed < 0 || failed >= rows.size()) {
            return cause;
        }
        RowStatement row = rows.get(failed);
        if (SqlStates.UNIQUE_VIOLATION.equals(cause.getSQLState()) && row.operation() == Operation.INSERT
                && policy == ConflictPolicy.ERROR) {
            throw ApplyException.conflict(row, lsns.get(failed), "the key already exists downstream (SQLSTATE 23505)");
        }
        throw ApplyException.refused(row, lsns.get(failed), cause);
    }

    /**
     * The index of the refused row. Inside a transaction pgjdbc marks every update count
     * EXECUTE_FAILED (nothing is committed), so the counts cannot tell; its message names the entry
     * ("Batch entry 1 ... was aborted"). -1 when the message is not in that form (a translated
     * driver message): the error then goes up unnamed rather than naming a wrong row.
     */
    private static int batchEntry(BatchUpdateException e) {
        java.util.regex.Matcher entry = BATCH_ENTRY.matcher(String.valueOf(e.getMessage()));
        return entry.find() ? Integer.parseInt(entry.group(1)) : -1;
    }

    private static final java.util.regex.Pattern BATCH_ENTRY = java.util.regex.Pattern.compile("^Batch entry (\\d{1,9}) ");

    private static void bind(PreparedStatement statement, String[] params) throws SQLException {
        for (int i = 0; i < params.length; i++) {
            if (params[i] == null) {
                statement.setNull(i + 1, Types.OTHER);
            } else {
                // Types.OTHER sends the text with type "unspecified": the server parses it
                // with the target column's input function, exactly as pgoutput printed it.
                statement.setObject(i + 1, params[i], Types.OTHER);
            }
        }
    }

    private void closeStatement() {
        if (statement != null) {
            try {
                statement.close();
            } catch (SQLException ignored) {
                // The connection is about to be rolled back or reused; a failed close changes nothing.
            }
            statement = null;
        }
    }
}
