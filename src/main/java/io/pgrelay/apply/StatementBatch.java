package io.pgrelay.apply;

import io.pgrelay.apply.RowStatement.Operation;
import io.pgrelay.config.ConflictPolicy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;

/**
 * A run of consecutive rows with the same SQL, sent in as few round trips as possible.
 *
 * <p>A row with different SQL ends the run, so downstream order is upstream order. The rows'
 * statements are kept until the run executes (at most {@code maxRows}), so that a refused row
 * can be named exactly.
 *
 * <p>A run of updates or deletes goes as one JDBC batch of single-row statements, and each row's
 * count shows whether it found its row. A run of inserts streams into one COPY, or goes as
 * multi-row {@code INSERT … VALUES (…), (…)} statements when a conflict clause is needed: either
 * is far less work per row for the downstream. A run of more than one row goes behind a
 * savepoint: when the downstream refuses anything in it, the run is rolled back to the savepoint
 * and replayed one row at a time, which names the exact refused row or, under
 * {@code apply.conflict=upsert}, applies rows that one statement cannot (a key inserted twice).
 */
final class StatementBatch {

    /** One name, released before it is set again, so savepoints never nest. */
    private static final String SAVEPOINT = "pgrelay_rows";

    private final Connection connection;
    private final ConflictPolicy policy;
    private final int maxRows;
    private final List<RowStatement> rows = new ArrayList<>();
    /** The LSN of each row's transaction, parallel to {@link #rows}. */
    private long[] lsns = new long[64];
    private final CopyText copyText = new CopyText();
    private long skippedConflicts;
    private boolean savepointSet;
    /** The COPY that the current run streams into, while one is open. */
    private CopyIn copy;

    StatementBatch(Connection connection, ConflictPolicy policy, int maxRows) {
        this.connection = connection;
        this.policy = policy;
        this.maxRows = maxRows;
    }

    /** Adds a row of the transaction committed at {@code lsn}; may execute the run. */
    void add(RowStatement row, long lsn) throws SQLException {
        if (!rows.isEmpty() && !row.sql().equals(rows.get(0).sql())) {
            flush();
        }
        if (rows.size() == lsns.length) {
            lsns = Arrays.copyOf(lsns, lsns.length * 2);
        }
        lsns[rows.size()] = lsn;
        rows.add(row);
        try {
            if (copy != null) {
                write(row);
            } else if (rows.size() == 2 && row.multiRow() != null && row.multiRow().copySql() != null) {
                startCopy(row.multiRow().copySql());
            }
        } catch (SQLException e) {
            replayRun(e);
            return;
        }
        if (rows.size() >= maxRows) {
            flush();
        }
    }

    /** Executes what is pending and checks every row's outcome. */
    void flush() throws SQLException {
        if (rows.isEmpty()) {
            return;
        }
        if (copy != null) {
            try {
                endCopy();
            } catch (SQLException e) {
                replayRun(e);
                return;
            }
        } else if (rows.size() == 1) {
            executeOneByOne();
        } else {
            executeRun();
        }
        rows.clear();
    }

    /** True when {@code row} would extend the current run (same SQL) rather than end it. */
    boolean extendsRun(RowStatement row) {
        return !rows.isEmpty() && row.sql().equals(rows.get(0).sql());
    }

    /** Rows of the current run, not executed yet. */
    int pendingRows() {
        return rows.size();
    }

    /** The downstream transaction ended (commit or rollback): its savepoint is gone with it. */
    void transactionEnded() {
        savepointSet = false;
    }

    /** Rows left unchanged under apply.conflict=skip/upsert since this batch was created. */
    long skippedConflicts() {
        return skippedConflicts;
    }

    void close() {
        if (copy != null) {
            try {
                copy.cancelCopy();
            } catch (SQLException ignored) {
                // The transaction is about to be rolled back, or the connection is gone.
            }
            copy = null;
        }
        rows.clear();
        savepointSet = false;
    }

    /**
     * A run of inserts that COPY can carry streams into one COPY from its second row on, so the
     * downstream parses and inserts rows while the relay still decodes the next ones.
     */
    private void startCopy(String sql) throws SQLException {
        setSavepoint();
        copy = connection.unwrap(PGConnection.class).getCopyAPI().copyIn(sql);
        for (RowStatement row : rows) {
            write(row);
        }
    }

    /** One row at a time: the COPY holds no more than pgjdbc's output buffer. */
    private void write(RowStatement row) throws SQLException {
        int length = copyText.encode(row.params());
        copy.writeToCopy(copyText.bytes(), 0, length);
    }

    private void endCopy() throws SQLException {
        CopyIn open = copy;
        copy = null;
        try {
            open.endCopy();
        } catch (SQLException e) {
            release(open, e);
            throw e;
        }
    }

    /**
     * The downstream refused something in the streamed run: undo it and replay it row by row.
     * A lost connection is passed on as it is: nothing can be replayed on it.
     */
    private void replayRun(SQLException failure) throws SQLException {
        if (copy != null) {
            CopyIn open = copy;
            copy = null;
            release(open, failure);
        }
        if (SqlStates.isConnectionFailure(failure.getSQLState())) {
            throw failure;
        }
        rollbackToSavepoint(failure);
        executeOneByOne();
        rows.clear();
    }

    /**
     * Batches and multi-row inserts, behind a savepoint. When the downstream refuses anything,
     * the run is rolled back to the savepoint and replayed one row per round trip: slow, but it
     * names the exact row (pgjdbc marks every entry of a failed batch inside a transaction as
     * failed).
     */
    private void executeRun() throws SQLException {
        setSavepoint();
        try {
            MultiRowInsert insert = rows.get(0).multiRow();
            UnnestStatement unnest = rows.get(0).unnest();
            if (insert != null) {
                executeMultiRowInsert(insert);
            } else if (unnest != null && unnest.fits(rows)) {
                executeUnnest(unnest);
            } else {
                executeBatch();
            }
        } catch (SQLException e) {
            rollbackToSavepoint(e);
            executeOneByOne();
        }
    }

    private void executeMultiRowInsert(MultiRowInsert insert) throws SQLException {
        int perStatement = insert.rowsPerStatement();
        int full = rows.size() / perStatement;
        if (full > 0) {
            try (PreparedStatement statement = connection.prepareStatement(insert.sql(perStatement))) {
                for (int i = 0; i < full; i++) {
                    bindRows(statement, i * perStatement, perStatement);
                    statement.addBatch();
                }
                statement.executeBatch();
            }
        }
        int rest = rows.size() - full * perStatement;
        if (rest > 0) {
            try (PreparedStatement statement = connection.prepareStatement(rest == 1 ? rows.get(0).sql() : insert.sql(rest))) {
                bindRows(statement, full * perStatement, rest);
                statement.executeUpdate();
            }
        }
    }

    /**
     * The run as one statement over arrays of its values. A count other than the run's rows
     * means a row was missing (or met twice): the caller replays the run row by row, which names
     * that row or applies the conflict policy to it.
     */
    private void executeUnnest(UnnestStatement unnest) throws SQLException {
        int count;
        try (PreparedStatement statement = connection.prepareStatement(unnest.sql())) {
            String[] arrays = unnest.arrays(rows);
            for (int p = 0; p < arrays.length; p++) {
                statement.setObject(p + 1, arrays[p], Types.OTHER);
            }
            count = statement.executeUpdate();
        }
        if (count != rows.size()) {
            throw new SQLException(count + " of " + rows.size() + " rows changed by one statement: replaying the run row by row",
                    SqlStates.NO_DATA);
        }
    }

    /** Single-row statements in one JDBC batch (one round trip); each row's count is checked. */
    private void executeBatch() throws SQLException {
        int[] counts;
        try (PreparedStatement statement = connection.prepareStatement(rows.get(0).sql())) {
            for (RowStatement row : rows) {
                bind(statement, row.params(), 1);
                statement.addBatch();
            }
            counts = statement.executeBatch();
        }
        for (int i = 0; i < counts.length; i++) {
            checkCount(rows.get(i), counts[i], lsns[i]);
        }
    }

    /** One round trip per row: exact about which row the downstream refused. */
    private void executeOneByOne() throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(rows.get(0).sql())) {
            for (int i = 0; i < rows.size(); i++) {
                RowStatement row = rows.get(i);
                bind(statement, row.params(), 1);
                int count;
                try {
                    count = statement.executeUpdate();
                } catch (SQLException e) {
                    throw refused(row, lsns[i], e);
                }
                checkCount(row, count, lsns[i]);
            }
        }
    }

    /** One round trip: release the previous savepoint (if any) and set it again. */
    private void setSavepoint() throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute(savepointSet ? "RELEASE SAVEPOINT " + SAVEPOINT + "; SAVEPOINT " + SAVEPOINT
                    : "SAVEPOINT " + SAVEPOINT);
        }
        savepointSet = true;
    }

    /**
     * Ends a COPY that failed. pgjdbc keeps the connection locked for a COPY that failed on I/O
     * (a socket timeout or a lost connection while ending it), and every later statement on the
     * connection, the rollback included, would wait for that lock forever without a timeout.
     * Cancelling releases the lock whatever happens on the wire.
     */
    private static void release(CopyIn open, SQLException failure) {
        if (open.isActive()) {
            try {
                open.cancelCopy();
            } catch (SQLException e) {
                // Whether the connection still works shows in what the caller does next.
                failure.addSuppressed(e);
            }
        }
    }

    /** Undoes the failed multi-row run; when even that fails, the connection is the problem. */
    private void rollbackToSavepoint(SQLException failure) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute("ROLLBACK TO SAVEPOINT " + SAVEPOINT);
        } catch (SQLException e) {
            failure.addSuppressed(e);
            throw failure;
        }
    }

    private void bindRows(PreparedStatement statement, int from, int count) throws SQLException {
        int index = 1;
        for (int r = from; r < from + count; r++) {
            index = bind(statement, rows.get(r).params(), index);
        }
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
    private SQLException refused(RowStatement row, long lsn, SQLException e) {
        if (!SqlStates.isAboutTheData(e.getSQLState())) {
            return e;
        }
        if (SqlStates.UNIQUE_VIOLATION.equals(e.getSQLState()) && row.operation() == Operation.INSERT
                && policy == ConflictPolicy.ERROR) {
            throw ApplyException.conflict(row, lsn, "the key already exists downstream (SQLSTATE 23505)");
        }
        throw ApplyException.refused(row, lsn, e);
    }

    /** Binds {@code params} from parameter {@code first} on; returns the next free index. */
    private static int bind(PreparedStatement statement, String[] params, int first) throws SQLException {
        int index = first;
        for (String param : params) {
            if (param == null) {
                statement.setNull(index++, Types.OTHER);
            } else {
                // Types.OTHER sends the text with type "unspecified": the server parses it
                // with the target column's input function, exactly as pgoutput printed it.
                statement.setObject(index++, param, Types.OTHER);
            }
        }
        return index;
    }
}
