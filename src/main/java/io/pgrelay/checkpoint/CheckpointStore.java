package io.pgrelay.checkpoint;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import org.postgresql.replication.LogSequenceNumber;

/**
 * Reads and writes this relay's row in {@code pgrelay.checkpoint} on the downstream.
 *
 * <p>The write runs on the caller's connection inside the caller's transaction, so the
 * checkpoint commits atomically with the changes it covers (DESIGN.md invariant 2). The
 * write refuses to move the checkpoint backwards or to write the same position twice: every
 * legitimate write is strictly ahead, so either only happens when a second relay with the same
 * {@code relay.name} applies to the same downstream, and continuing would apply transactions twice.
 */
public final class CheckpointStore {

    static final String CREATE_SQL = """
            CREATE SCHEMA IF NOT EXISTS pgrelay;
            CREATE TABLE IF NOT EXISTS pgrelay.checkpoint (
                relay_name    text PRIMARY KEY,
                upstream_slot text NOT NULL,
                end_lsn       pg_lsn NOT NULL,
                commit_time   timestamptz,
                updated_at    timestamptz NOT NULL DEFAULT now()
            );
            COMMENT ON TABLE pgrelay.checkpoint IS
                'pgrelay: per relay, the end LSN of the last upstream transaction applied here; written in the same transaction as the changes';
            """;

    private static final String READ_SQL =
            "SELECT end_lsn::text, commit_time FROM pgrelay.checkpoint WHERE relay_name = ?";

    private static final String WRITE_SQL = """
            INSERT INTO pgrelay.checkpoint AS c (relay_name, upstream_slot, end_lsn, commit_time, updated_at)
            VALUES (?, ?, ?::pg_lsn, ?, now())
            ON CONFLICT (relay_name) DO UPDATE
               SET upstream_slot = EXCLUDED.upstream_slot,
                   end_lsn = EXCLUDED.end_lsn,
                   commit_time = COALESCE(EXCLUDED.commit_time, c.commit_time),
                   updated_at = now()
             WHERE c.end_lsn < EXCLUDED.end_lsn
            """;

    private static final String FENCE_ROW_SQL = """
            INSERT INTO pgrelay.checkpoint (relay_name, upstream_slot, end_lsn) VALUES (?, ?, '0/0')
            ON CONFLICT (relay_name) DO NOTHING
            """;
    private static final String FENCE_SQL =
            "SELECT end_lsn::text FROM pgrelay.checkpoint WHERE relay_name = ? FOR UPDATE";

    private final String relayName;
    private final String upstreamSlot;

    public CheckpointStore(String relayName, String upstreamSlot) {
        this.relayName = relayName;
        this.upstreamSlot = upstreamSlot;
    }

    /** Creates the {@code pgrelay} schema and table when missing; commits on its own. */
    public void ensureTable(Connection connection) throws SQLException {
        boolean autoCommit = connection.getAutoCommit();
        connection.setAutoCommit(true);
        try (Statement statement = connection.createStatement()) {
            if (!tableExists(statement)) {
                statement.execute(CREATE_SQL);
            }
        } finally {
            connection.setAutoCommit(autoCommit);
        }
    }

    private static boolean tableExists(Statement statement) throws SQLException {
        // Checked first so a relay whose role may not CREATE in the database still runs
        // against a table an administrator created for it.
        try (ResultSet rs = statement.executeQuery("SELECT to_regclass('pgrelay.checkpoint') IS NOT NULL")) {
            return rs.next() && rs.getBoolean(1);
        }
    }

    public Checkpoint read(Connection connection) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(READ_SQL)) {
            statement.setString(1, relayName);
            try (ResultSet rs = statement.executeQuery()) {
                if (!rs.next()) {
                    return Checkpoint.NONE;
                }
                Timestamp commitTime = rs.getTimestamp(2);
                return new Checkpoint(LogSequenceNumber.valueOf(rs.getString(1)),
                        commitTime == null ? null : commitTime.toInstant());
            }
        }
    }

    /**
     * Locks this relay's row in the caller's transaction and checks that it still says
     * {@code expected}, the checkpoint the session started from.
     *
     * <p>Why: when a downstream connection times out, its server backend may live on, and a
     * transaction of it whose COMMIT was already on the wire can still commit after the next
     * session has read the checkpoint. Such a transaction wrote the checkpoint row before its
     * COMMIT, so it holds the row's lock: this waits for it to end, then sees where it moved the
     * checkpoint, and the session starts again from there instead of applying the same
     * transactions a second time. With no row yet, a row at 0/0 is inserted first so that there
     * is something to lock.
     *
     * @throws SQLException (SQLSTATE 40001, retried) when the checkpoint moved ahead
     * @throws CheckpointConflictException when it moved back, which no timeout can explain
     */
    public void fence(Connection connection, Checkpoint expected) throws SQLException {
        if (expected.isNone()) {
            try (PreparedStatement insert = connection.prepareStatement(FENCE_ROW_SQL)) {
                insert.setString(1, relayName);
                insert.setString(2, upstreamSlot);
                insert.executeUpdate();
            }
        }
        LogSequenceNumber found;
        try (PreparedStatement statement = connection.prepareStatement(FENCE_SQL)) {
            statement.setString(1, relayName);
            try (ResultSet rs = statement.executeQuery()) {
                found = rs.next() ? LogSequenceNumber.valueOf(rs.getString(1)) : LogSequenceNumber.INVALID_LSN;
            }
        }
        int order = Long.compareUnsigned(found.asLong(), expected.endLsn().asLong());
        if (order > 0) {
            throw new SQLException("the checkpoint of relay '" + relayName + "' on the downstream moved to "
                    + found.asString() + " while this session started at " + expected.endLsn().asString()
                    + ": a transaction of an earlier connection committed late (after a timeout), or a second relay"
                    + " with the same relay.name applies here; starting again from the checkpoint", "40001");
        }
        if (order < 0) {
            throw new CheckpointConflictException("the checkpoint of relay '" + relayName + "' on the downstream went back to "
                    + found.asString() + " from " + expected.endLsn().asString()
                    + ": something other than this relay writes pgrelay.checkpoint; stop it");
        }
    }

    /** Writes the checkpoint in the connection's current transaction. */
    public void write(Connection connection, Checkpoint checkpoint) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(WRITE_SQL)) {
            statement.setString(1, relayName);
            statement.setString(2, upstreamSlot);
            statement.setString(3, checkpoint.endLsn().asString());
            Instant commitTime = checkpoint.commitTime();
            statement.setTimestamp(4, commitTime == null ? null : Timestamp.from(commitTime));
            if (statement.executeUpdate() != 1) {
                throw new CheckpointConflictException("the checkpoint of relay '" + relayName
                        + "' on the downstream is already past " + checkpoint.endLsn().asString()
                        + ": another relay with the same relay.name is applying to this downstream;"
                        + " stop it or give each relay its own relay.name");
            }
        }
    }
}
