package io.pgrelay.sync;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.function.BooleanSupplier;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyOut;

/**
 * Copies one table from the source (a transaction already under the exported snapshot) into the
 * downstream, in one downstream transaction that also marks the table done: after a crash the
 * table is either complete and marked, or untouched by this attempt.
 *
 * <p>Rows stream from {@code COPY … TO STDOUT} straight into {@code COPY … FROM STDIN}, one
 * CopyData message at a time, so memory does not grow with the table (invariant 6).
 */
final class TableCopy {

    /** Thrown when a stop was requested or another table's copy failed: this copy rolled back. */
    static final class Abandoned extends Exception {
        private static final long serialVersionUID = 1L;

        Abandoned() {
            super("copy abandoned");
        }
    }

    private final SyncTable table;
    private final boolean binary;
    private final SyncState state;
    private final SyncListener listener;
    private final String syncLsn;

    /** @param syncLsn the consistent point of the snapshot the source reads under */
    TableCopy(SyncTable table, boolean binary, SyncState state, SyncListener listener, String syncLsn) {
        this.syncLsn = syncLsn;
        this.table = table;
        this.binary = binary;
        this.state = state;
        this.listener = listener;
    }

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(TableCopy.class);

    /** Logs and returns the line of the finished copy. */
    String run(Connection source, Connection downstream, BooleanSupplier abandon) throws SQLException, Abandoned {
        downstream.setAutoCommit(false);
        try {
            prepare(downstream);
            CopyProgress progress = new CopyProgress(table, listener, System.nanoTime());
            long rows = pipe(source, downstream, progress, abandon);
            state.tableDone(downstream, table, rows, progress.bytes(), syncLsn);
            downstream.commit();
            listener.syncTableDone(table.label());
            String line = progress.done(rows, System.nanoTime()) + (binary ? ", binary" : ", text");
            log.info(line);
            return line;
        } catch (SQLException | RuntimeException | Abandoned e) {
            rollbackQuietly(downstream);
            throw e;
        } finally {
            downstream.setAutoCommit(true);
        }
    }

    /**
     * Turns off FK and user triggers as a native subscriber's copy does, when the role may (else
     * they stay on, and tables copied in parallel must not reference each other).
     */
    private void prepare(Connection downstream) throws SQLException {
        try (Statement statement = downstream.createStatement()) {
            statement.execute("SAVEPOINT pgrelay_role");
            try {
                statement.execute("SET LOCAL session_replication_role = replica");
            } catch (SQLException e) {
                statement.execute("ROLLBACK TO SAVEPOINT pgrelay_role");
            }
        }
    }

    private long pipe(Connection source, Connection downstream, CopyProgress progress, BooleanSupplier abandon)
            throws SQLException, Abandoned {
        String format = binary ? "binary" : "text";
        String select = "SELECT " + table.columnList() + " FROM " + (table.partitioned() ? "" : "ONLY ")
                + table.qualified() + (table.rowFilter() == null ? "" : " WHERE " + table.rowFilter());
        CopyIn in = downstream.unwrap(PGConnection.class).getCopyAPI().copyIn(
                "COPY " + table.qualified() + " (" + table.columnList() + ") FROM STDIN (FORMAT " + format + ")");
        CopyOut out = null;
        try {
            out = source.unwrap(PGConnection.class).getCopyAPI().copyOut(
                    "COPY (" + select + ") TO STDOUT (FORMAT " + format + ")");
            byte[] message;
            while ((message = out.readFromCopy()) != null) {
                in.writeToCopy(message, 0, message.length);
                progress.message(message.length, System.nanoTime());
                if (abandon.getAsBoolean()) {
                    throw new Abandoned();
                }
            }
            return in.endCopy();
        } finally {
            cancelQuietly(out);
            if (in.isActive()) {
                cancelQuietly(in);
            }
        }
    }

    private static void cancelQuietly(org.postgresql.copy.CopyOperation copy) {
        try {
            if (copy != null && copy.isActive()) {
                copy.cancelCopy();
            }
        } catch (SQLException ignored) {
            // The transaction is rolled back or the connection closed next; either ends the copy.
        }
    }

    private static void rollbackQuietly(Connection connection) {
        try {
            connection.rollback();
        } catch (SQLException ignored) {
            // The pool discards a broken connection; the copy is retried from scratch anyway.
        }
    }
}
