package io.pgrelay.sync;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The initial copy's progress in the downstream's {@code pgrelay} schema, next to the checkpoint:
 * {@code pgrelay.sync_run} (one row per relay: copying or done) and {@code pgrelay.sync_table}
 * (one row per table: pending or done, rows and bytes copied).
 *
 * <p>The table rows also tell a resumed copy which tables it filled itself (and may empty
 * again). {@code pgrelay.relayed_table} tells a child relay which tables its parent relays: a
 * child copying from this downstream reads it under the parent's exported snapshot.
 */
final class SyncState {

    static final String CREATE_SQL = """
            CREATE SCHEMA IF NOT EXISTS pgrelay;
            CREATE TABLE IF NOT EXISTS pgrelay.sync_run (
                relay_name       text PRIMARY KEY,
                state            text NOT NULL CHECK (state IN ('copying', 'done')),
                consistent_point pg_lsn,
                started_at       timestamptz NOT NULL DEFAULT now(),
                finished_at      timestamptz
            );
            CREATE TABLE IF NOT EXISTS pgrelay.sync_table (
                relay_name   text NOT NULL,
                schema_name  text NOT NULL,
                table_name   text NOT NULL,
                state        text NOT NULL CHECK (state IN ('pending', 'done')),
                rows_copied  bigint NOT NULL DEFAULT 0,
                bytes_copied bigint NOT NULL DEFAULT 0,
                updated_at   timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (relay_name, schema_name, table_name)
            );
            COMMENT ON TABLE pgrelay.sync_table IS
                'pgrelay: the tables each relay copied in its initial sync, and how far';
            CREATE TABLE IF NOT EXISTS pgrelay.relayed_table (
                relay_name   text NOT NULL,
                schema_name  text NOT NULL,
                table_name   text NOT NULL,
                PRIMARY KEY (relay_name, schema_name, table_name)
            );
            COMMENT ON TABLE pgrelay.relayed_table IS
                'pgrelay: the tables each relay applies here; a child relay copying from this database reads its table list here';
            """;

    enum Run { NONE, COPYING, DONE }

    private final String relayName;

    SyncState(String relayName) {
        this.relayName = relayName;
    }

    /** Creates the tables when missing; the connection is in autocommit mode. */
    void ensureTables(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            try (ResultSet rs = statement.executeQuery(
                    "SELECT to_regclass('pgrelay.sync_run') IS NOT NULL AND to_regclass('pgrelay.sync_table') IS NOT NULL"
                            + " AND to_regclass('pgrelay.relayed_table') IS NOT NULL")) {
                if (rs.next() && rs.getBoolean(1)) {
                    return;
                }
            }
            statement.execute(CREATE_SQL);
        }
    }

    Run run(Connection connection) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(
                "SELECT state FROM pgrelay.sync_run WHERE relay_name = ?")) {
            statement.setString(1, relayName);
            try (ResultSet rs = statement.executeQuery()) {
                return !rs.next() ? Run.NONE : "done".equals(rs.getString(1)) ? Run.DONE : Run.COPYING;
            }
        }
    }

    /** Marks a copy as started (before the upstream slot is made, so a crash leaves a trace). */
    void start(Connection connection) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement("""
                INSERT INTO pgrelay.sync_run (relay_name, state) VALUES (?, 'copying')
                ON CONFLICT (relay_name) DO UPDATE SET state = 'copying', started_at = now(), finished_at = NULL
                """)) {
            statement.setString(1, relayName);
            statement.executeUpdate();
        }
    }

    /** The tables an earlier, interrupted attempt planned: this relay filled them, it may empty them. */
    Set<String> plannedTables(Connection connection) throws SQLException {
        Set<String> planned = new HashSet<>();
        try (PreparedStatement statement = connection.prepareStatement(
                "SELECT schema_name, table_name FROM pgrelay.sync_table WHERE relay_name = ?")) {
            statement.setString(1, relayName);
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    planned.add(rs.getString(1) + "." + rs.getString(2));
                }
            }
        }
        return planned;
    }

    /** Replaces the plan with {@code tables}, all pending; commits on its own. */
    void plan(Connection connection, List<SyncTable> tables) throws SQLException {
        connection.setAutoCommit(false);
        try {
            try (PreparedStatement delete = connection.prepareStatement("DELETE FROM pgrelay.sync_table WHERE relay_name = ?")) {
                delete.setString(1, relayName);
                delete.executeUpdate();
            }
            try (PreparedStatement insert = connection.prepareStatement(
                    "INSERT INTO pgrelay.sync_table (relay_name, schema_name, table_name, state) VALUES (?, ?, ?, 'pending')")) {
                for (SyncTable table : tables) {
                    insert.setString(1, relayName);
                    insert.setString(2, table.schema());
                    insert.setString(3, table.name());
                    insert.addBatch();
                }
                insert.executeBatch();
            }
            connection.commit();
        } catch (SQLException | RuntimeException e) {
            connection.rollback();
            throw e;
        } finally {
            connection.setAutoCommit(true);
        }
    }

    /** Replaces this relay's list of relayed tables ({@code {schema, table}} pairs) in the caller's transaction. */
    void recordRelayed(Connection connection, List<String[]> tables) throws SQLException {
        try (PreparedStatement delete = connection.prepareStatement("DELETE FROM pgrelay.relayed_table WHERE relay_name = ?")) {
            delete.setString(1, relayName);
            delete.executeUpdate();
        }
        try (PreparedStatement insert = connection.prepareStatement(
                "INSERT INTO pgrelay.relayed_table (relay_name, schema_name, table_name) VALUES (?, ?, ?)")) {
            for (String[] table : tables) {
                insert.setString(1, relayName);
                insert.setString(2, table[0]);
                insert.setString(3, table[1]);
                insert.addBatch();
            }
            insert.executeBatch();
        }
    }

    /** Marks one table copied, in the caller's transaction (the one that holds its rows). */
    void tableDone(Connection connection, SyncTable table, long rows, long bytes) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement("""
                UPDATE pgrelay.sync_table SET state = 'done', rows_copied = ?, bytes_copied = ?, updated_at = now()
                 WHERE relay_name = ? AND schema_name = ? AND table_name = ?
                """)) {
            statement.setLong(1, rows);
            statement.setLong(2, bytes);
            statement.setString(3, relayName);
            statement.setString(4, table.schema());
            statement.setString(5, table.name());
            statement.executeUpdate();
        }
    }

    /** Marks the copy done at {@code consistentPoint}, in the caller's transaction (with the checkpoint). */
    void finish(Connection connection, String consistentPoint) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement("""
                UPDATE pgrelay.sync_run SET state = 'done', consistent_point = ?::pg_lsn, finished_at = now()
                 WHERE relay_name = ?
                """)) {
            statement.setString(1, consistentPoint);
            statement.setString(2, relayName);
            statement.executeUpdate();
        }
    }
}
