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
 * (one row per table: pending or done, rows and bytes copied, and the LSN of the snapshot it was
 * copied under: the slot's consistent point, or a resumed copy's later one).
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
                sync_lsn     pg_lsn,
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
                if (!(rs.next() && rs.getBoolean(1))) {
                    statement.execute(CREATE_SQL);
                }
            }
            try (ResultSet rs = statement.executeQuery(
                    "SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = 'pgrelay.sync_table'::regclass"
                            + " AND attname = 'sync_lsn' AND NOT attisdropped")) {
                if (rs.next()) {
                    return;
                }
            }
            // A downstream set up by an earlier version: the column a resumed copy needs.
            statement.execute("ALTER TABLE pgrelay.sync_table ADD COLUMN IF NOT EXISTS sync_lsn pg_lsn");
        }
    }

    /** The consistent point of the upstream slot an interrupted copy made, or null (none recorded). */
    String consistentPoint(Connection connection) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(
                "SELECT consistent_point::text FROM pgrelay.sync_run WHERE relay_name = ? AND state = 'copying'")) {
            statement.setString(1, relayName);
            try (ResultSet rs = statement.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    /**
     * Records a new slot's consistent point as soon as it exists (a resumed copy streams from
     * there) and, in the same transaction, turns the tables an earlier attempt copied under an
     * older snapshot back to pending: they are never kept with this slot.
     */
    void slotCreated(Connection connection, String consistentPoint) throws SQLException {
        connection.setAutoCommit(false);
        try {
            try (PreparedStatement statement = connection.prepareStatement(
                    "UPDATE pgrelay.sync_run SET consistent_point = ?::pg_lsn WHERE relay_name = ?")) {
                statement.setString(1, consistentPoint);
                statement.setString(2, relayName);
                statement.executeUpdate();
            }
            try (PreparedStatement statement = connection.prepareStatement(
                    "UPDATE pgrelay.sync_table SET state = 'pending', sync_lsn = NULL WHERE relay_name = ?")) {
                statement.setString(1, relayName);
                statement.executeUpdate();
            }
            connection.commit();
        } catch (SQLException | RuntimeException e) {
            connection.rollback();
            throw e;
        } finally {
            connection.setAutoCommit(true);
        }
    }

    /** The tables ({@code schema.table}) an interrupted attempt committed completely. */
    Set<String> doneTables(Connection connection) throws SQLException {
        return tables(connection, " AND state = 'done'");
    }

    /**
     * A resumed copy's plan: the done tables outside {@code todo} stay as they are, every other
     * row goes, {@code todo} is pending again. Commits on its own.
     */
    void replan(Connection connection, List<SyncTable> todo) throws SQLException {
        replacePlan(connection, " AND state <> 'done'", todo);
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
        return tables(connection, "");
    }

    private Set<String> tables(Connection connection, String condition) throws SQLException {
        Set<String> tables = new HashSet<>();
        try (PreparedStatement statement = connection.prepareStatement(
                "SELECT schema_name, table_name FROM pgrelay.sync_table WHERE relay_name = ?" + condition)) {
            statement.setString(1, relayName);
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    tables.add(rs.getString(1) + "." + rs.getString(2));
                }
            }
        }
        return tables;
    }

    /** Replaces the plan with {@code tables}, all pending; commits on its own. */
    void plan(Connection connection, List<SyncTable> tables) throws SQLException {
        replacePlan(connection, "", tables);
    }

    /** Deletes this relay's plan rows that match {@code condition}, then makes {@code pending} pending. */
    private void replacePlan(Connection connection, String condition, List<SyncTable> pending) throws SQLException {
        connection.setAutoCommit(false);
        try {
            try (PreparedStatement delete = connection.prepareStatement(
                    "DELETE FROM pgrelay.sync_table WHERE relay_name = ?" + condition)) {
                delete.setString(1, relayName);
                delete.executeUpdate();
            }
            try (PreparedStatement upsert = connection.prepareStatement("""
                    INSERT INTO pgrelay.sync_table (relay_name, schema_name, table_name, state) VALUES (?, ?, ?, 'pending')
                    ON CONFLICT (relay_name, schema_name, table_name) DO UPDATE
                       SET state = 'pending', rows_copied = 0, bytes_copied = 0, sync_lsn = NULL, updated_at = now()
                    """)) {
                for (SyncTable table : pending) {
                    upsert.setString(1, relayName);
                    upsert.setString(2, table.schema());
                    upsert.setString(3, table.name());
                    upsert.addBatch();
                }
                upsert.executeBatch();
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
    void tableDone(Connection connection, SyncTable table, long rows, long bytes, String syncLsn) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement("""
                UPDATE pgrelay.sync_table SET state = 'done', rows_copied = ?, bytes_copied = ?, sync_lsn = ?::pg_lsn,
                       updated_at = now()
                 WHERE relay_name = ? AND schema_name = ? AND table_name = ?
                """)) {
            statement.setLong(1, rows);
            statement.setLong(2, bytes);
            statement.setString(3, syncLsn);
            statement.setString(4, relayName);
            statement.setString(5, table.schema());
            statement.setString(6, table.name());
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
