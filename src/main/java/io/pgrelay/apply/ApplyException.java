package io.pgrelay.apply;

import java.sql.SQLException;

/**
 * The downstream refused a change, or cannot take changes for a table at all. Permanent:
 * retrying would fail the same way, so the relay stops at its last checkpoint and the message
 * says what to fix. Never carries a password; may carry key values, which the operator needs.
 */
public final class ApplyException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String sqlState;

    private ApplyException(String message, String sqlState, Throwable cause) {
        super(message, cause);
        this.sqlState = sqlState;
    }

    /** A table that cannot be applied to: missing downstream, no replica identity, ... */
    static ApplyException setup(String message) {
        return new ApplyException(message, null, null);
    }

    /** An insert found its key taken, or an update/delete found no row, under apply.conflict=error. */
    static ApplyException conflict(RowStatement row, long lsn, String what) {
        return new ApplyException("conflict on " + row.table().qualifiedName() + " key " + row.describeKey()
                + " in the transaction committed at LSN " + Lsns.format(lsn) + ": " + what
                + "; fix the downstream row, or set apply.conflict=skip or upsert", null, null);
    }

    /** The downstream raised an error for this row (constraint, bad value, ...). */
    static ApplyException refused(RowStatement row, long lsn, SQLException cause) {
        return new ApplyException(row.operation() + " on " + row.table().qualifiedName() + " key " + row.describeKey()
                + " in the transaction committed at LSN " + Lsns.format(lsn) + " failed with SQLSTATE "
                + cause.getSQLState() + ": " + firstLine(cause.getMessage())
                + "; fix the downstream (the relay resumes from its checkpoint)", cause.getSQLState(), cause);
    }

    /** The downstream raised an error for a statement that is not a row change (TRUNCATE). */
    static ApplyException refused(String statement, long lsn, SQLException cause) {
        return new ApplyException(statement + " in the transaction committed at LSN " + Lsns.format(lsn)
                + " failed with SQLSTATE " + cause.getSQLState() + ": " + firstLine(cause.getMessage()),
                cause.getSQLState(), cause);
    }

    /** SQLSTATE of the downstream error, or null when the relay itself refused. */
    public String sqlState() {
        return sqlState;
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
