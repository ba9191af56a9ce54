package io.pgrelay.apply;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Makes every downstream commit so far durable: a synchronous commit of a transaction with an
 * XID flushes the WAL up to its own commit record, and so past every asynchronous commit before
 * it, on any connection.
 */
final class DownstreamFlush {
    private DownstreamFlush() {}

    /** On a connection without autocommit and outside a transaction; commits. */
    static void force(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute("SET LOCAL synchronous_commit = on; SELECT txid_current()");
        }
        connection.commit();
    }
}
