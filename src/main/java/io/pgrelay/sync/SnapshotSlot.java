package io.pgrelay.sync;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.ServerVersion;
import org.postgresql.replication.LogSequenceNumber;

/**
 * The upstream slot made for an initial copy, with the snapshot it exported: every transaction
 * that commits before {@link #consistentPoint()} is visible in {@link #snapshot()}, every later
 * one is streamed from the slot. The snapshot lives until the next command on the replication
 * connection, so that connection stays idle until the copy is over.
 *
 * <p>Works against PostgreSQL (new syntax from 15, {@code EXPORT_SNAPSHOT} before) and against a
 * parent relay's feed, which reports 15 and exports a snapshot of its downstream.
 */
record SnapshotSlot(String name, LogSequenceNumber consistentPoint, String snapshot) {

    private static final String UNDEFINED_OBJECT = "42704";

    /**
     * Creates {@code name} on {@code replication} with an exported snapshot; {@code temporary}:
     * a slot that goes away with the connection (a resumed copy only needs its snapshot).
     */
    static SnapshotSlot create(Connection replication, String name, boolean temporary) throws SQLException, SyncException {
        boolean newSyntax = replication.unwrap(BaseConnection.class).haveMinimumServerVersion(ServerVersion.v15);
        String command = "CREATE_REPLICATION_SLOT " + name + (temporary ? " TEMPORARY" : "") + " LOGICAL pgoutput"
                + (newSyntax ? " (SNAPSHOT 'export')" : " EXPORT_SNAPSHOT");
        try (Statement statement = replication.createStatement();
             ResultSet rs = statement.executeQuery(command)) {
            if (!rs.next()) {
                throw new SQLException("CREATE_REPLICATION_SLOT returned no row", "08P01");
            }
            String snapshot = rs.getString("snapshot_name");
            if (snapshot == null || snapshot.isEmpty()) {
                throw new SyncException("the upstream created slot " + name + " but exported no snapshot: "
                        + "an initial copy needs a PostgreSQL upstream or a pgrelay feed that exports one");
            }
            return new SnapshotSlot(name, LogSequenceNumber.valueOf(rs.getString("consistent_point")), snapshot);
        }
    }

    /**
     * Drops {@code name} when it exists. Only for a slot whose copy never finished: nothing was
     * streamed from it, and its snapshot died with the process that made it. Without WAIT: a slot
     * another client is using fails with 55006 (retried with backoff, and logged) instead of
     * hanging until that client lets go.
     */
    static boolean dropIfExists(Connection replication, String name) throws SQLException {
        try (Statement statement = replication.createStatement()) {
            statement.execute("DROP_REPLICATION_SLOT " + name);
            return true;
        } catch (SQLException e) {
            if (UNDEFINED_OBJECT.equals(e.getSQLState())) {
                return false;
            }
            throw e;
        }
    }
}
