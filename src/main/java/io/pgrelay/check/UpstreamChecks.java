package io.pgrelay.check;

import io.pgrelay.config.RelayConfig;
import io.pgrelay.config.RelayConfig.Endpoint;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.postgresql.PGConnection;

/**
 * Checks the upstream: that the relay can open its replication connection, and, on a PostgreSQL
 * upstream, wal_level, the role's REPLICATION right, free slots and WAL senders, the
 * publications, every published table's replica identity and the slot's state. An upstream
 * that turns out to be a parent relay's feed is handed to {@link FeedChecks}.
 */
final class UpstreamChecks {

    static final String CONNECTION = "upstream connection";
    private static final long RETAINED_WARN_BYTES = 1L << 30;

    /** @param tables what the publications carry; null when the upstream could not tell */
    record Result(List<Check> checks, List<PublishedTable> tables) {}

    private final RelayConfig config;
    private final Endpoint upstream;
    private final String applicationName;
    private final List<Check> checks = new ArrayList<>();

    UpstreamChecks(RelayConfig config) {
        this.config = config;
        this.upstream = config.upstream();
        this.applicationName = "pgrelay-check:" + config.relayName();
    }

    Result run() {
        SQLException replicationFailure = null;
        try (Connection replication = CheckConnections.replication(upstream, applicationName)) {
            String version = replication.unwrap(PGConnection.class).getParameterStatus("server_version");
            if (FeedChecks.isFeed(version)) {
                return new FeedChecks(config).run(replication, version);
            }
        } catch (SQLException e) {
            replicationFailure = e;
        }
        if (replicationFailure != null && String.valueOf(replicationFailure.getSQLState()).startsWith("08")) {
            // Unreachable: a second attempt would only wait for the same timeout again.
            checks.add(CheckConnections.failed(CONNECTION, "upstream", upstream, replicationFailure));
            return new Result(checks, null);
        }
        Connection sql;
        try {
            sql = CheckConnections.sql(upstream, applicationName);
        } catch (SQLException e) {
            checks.add(CheckConnections.failed(CONNECTION, "upstream", upstream,
                    replicationFailure != null ? replicationFailure : e));
            return new Result(checks, null);
        }
        try (sql) {
            return postgres(sql, replicationFailure);
        } catch (SQLException e) {
            checks.add(CheckConnections.queryFailed("upstream catalog", "upstream", e,
                    "grant " + upstream.user() + " read access to the pg_catalog views"));
            return new Result(checks, null);
        }
    }

    private Result postgres(Connection sql, SQLException replicationFailure) throws SQLException {
        int version = Integer.parseInt(setting(sql, "server_version_num"));
        checks.add(Check.ok(CONNECTION, "PostgreSQL " + setting(sql, "server_version") + ", database "
                + sql.getCatalog() + " as " + upstream.user()));
        replicationRight(sql, replicationFailure);
        walLevel(sql);
        boolean slotExists = slot(sql, version);
        capacity(sql, slotExists);
        List<String> existing = publications(sql);
        List<PublishedTable> tables = existing.isEmpty() ? List.of() : tables(sql, existing, version);
        heartbeat(sql);
        return new Result(checks, tables);
    }

    private void replicationRight(Connection sql, SQLException replicationFailure) throws SQLException {
        String name = "upstream replication";
        boolean replication;
        try (PreparedStatement statement = sql.prepareStatement(
                "SELECT rolreplication OR rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user");
             ResultSet rs = statement.executeQuery()) {
            replication = rs.next() && rs.getBoolean(1);
        }
        // The accepted connection is the proof: managed services grant the right through roles
        // (such as rds_replication) that rolreplication does not show.
        if (replicationFailure == null) {
            checks.add(Check.ok(name, "role " + upstream.user() + (replication ? " has REPLICATION; " : " ")
                    + "a replication connection was accepted"));
        } else if (!replication) {
            checks.add(Check.fail(name, "role " + upstream.user() + " lacks the REPLICATION attribute",
                    "ALTER ROLE " + PublishedTable.display(upstream.user()) + " REPLICATION; (on the upstream, as a superuser)"));
        } else {
            checks.add(CheckConnections.failed(name, "upstream", upstream, replicationFailure));
        }
    }

    private void walLevel(Connection sql) throws SQLException {
        String level = setting(sql, "wal_level");
        checks.add("logical".equals(level)
                ? Check.ok("upstream wal_level", level)
                : Check.fail("upstream wal_level", level + " (logical decoding needs logical)",
                        "ALTER SYSTEM SET wal_level = logical; then restart the upstream server"));
    }

    /** The slot's own rows; returns whether it exists. */
    private boolean slot(Connection sql, int version) throws SQLException {
        String name = "upstream slot " + config.upstreamSlot();
        String walStatus = version >= 130000 ? "wal_status" : "NULL::text";
        try (PreparedStatement statement = sql.prepareStatement("SELECT slot_type, plugin, database, active, active_pid, "
                + walStatus + ", pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), restart_lsn)::bigint, "
                + "current_database() FROM pg_catalog.pg_replication_slots WHERE slot_name = ?")) {
            statement.setString(1, config.upstreamSlot());
            try (ResultSet rs = statement.executeQuery()) {
                if (!rs.next()) {
                    checks.add(Check.ok(name, "does not exist yet: run creates it (pgoutput) and relays changes from then on"));
                    return false;
                }
                SlotRow slot = new SlotRow(rs.getString(1), rs.getString(2), rs.getString(3), rs.getBoolean(4),
                        rs.getObject(5) == null ? null : rs.getInt(5), rs.getString(6), (Long) rs.getObject(7), rs.getString(8));
                checks.add(slotState(name, slot));
                retained(slot);
                return true;
            }
        }
    }

    private record SlotRow(String type, String plugin, String database, boolean active, Integer activePid,
                           String walStatus, Long retainedBytes, String currentDatabase) {}

    private Check slotState(String name, SlotRow slot) {
        String dropIt = "SELECT pg_drop_replication_slot('" + config.upstreamSlot().replace("'", "''") + "')";
        if (!"logical".equals(slot.type())) {
            return Check.fail(name, "is a " + slot.type() + " slot", "choose another upstream.slot, or " + dropIt
                    + " if nothing uses it");
        }
        if (!"pgoutput".equals(slot.plugin())) {
            return Check.fail(name, "uses output plugin " + slot.plugin() + ", not pgoutput",
                    "choose another upstream.slot, or " + dropIt + " so run creates it with pgoutput");
        }
        if (!slot.currentDatabase().equals(slot.database())) {
            return Check.fail(name, "belongs to database " + slot.database() + ", upstream.url names " + slot.currentDatabase(),
                    "point upstream.url at database " + slot.database() + ", or choose another upstream.slot");
        }
        if ("lost".equals(slot.walStatus())) {
            return Check.fail(name, "wal_status = lost: the upstream removed WAL the slot still needed",
                    dropIt + ", then re-sync the downstream (its rows miss the lost changes); raise max_slot_wal_keep_size");
        }
        if (slot.active()) {
            return Check.warn(name, "active for another process (pid " + slot.activePid() + ")",
                    "stop the other consumer (SELECT pg_terminate_backend(" + slot.activePid()
                            + ") if it is a stale session) or give this relay its own upstream.slot; run waits and retries");
        }
        return Check.ok(name, "exists, pgoutput, not active" + (slot.walStatus() == null ? "" : ", wal_status " + slot.walStatus()));
    }

    private void retained(SlotRow slot) {
        if (slot.retainedBytes() == null || "lost".equals(slot.walStatus())) {
            return;
        }
        String name = "upstream retained WAL";
        String amount = String.format("%,d bytes", slot.retainedBytes());
        if ("unreserved".equals(slot.walStatus())) {
            checks.add(Check.warn(name, amount + ", wal_status unreserved: the slot is about to be lost",
                    "start the relay now so it catches up, or raise max_slot_wal_keep_size"));
        } else if (slot.retainedBytes() >= RETAINED_WARN_BYTES) {
            checks.add(Check.warn(name, amount + " kept on the upstream for this slot",
                    "start the relay so it catches up, or drop the slot if this relay is gone for good"));
        } else {
            checks.add(Check.ok(name, amount));
        }
    }

    private void capacity(Connection sql, boolean slotExists) throws SQLException {
        try (PreparedStatement statement = sql.prepareStatement("SELECT current_setting('max_replication_slots')::int, "
                + "(SELECT count(*) FROM pg_catalog.pg_replication_slots)::int, current_setting('max_wal_senders')::int, "
                + "(SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'walsender' "
                + "AND application_name IS DISTINCT FROM ?)::int")) {
            statement.setString(1, applicationName);
            try (ResultSet rs = statement.executeQuery()) {
                rs.next();
                slots(rs.getInt(1), rs.getInt(2), slotExists);
                senders(rs.getInt(3), rs.getInt(4));
            }
        }
    }

    private void slots(int max, int used, boolean slotExists) {
        String name = "upstream free slots";
        String detail = used + " of max_replication_slots " + max + " in use";
        if (slotExists || used < max) {
            checks.add(Check.ok(name, detail + (slotExists ? " (this relay's slot exists)" : "")));
        } else {
            checks.add(Check.fail(name, detail + ": no room for slot " + config.upstreamSlot(),
                    "raise max_replication_slots (restart needed) or drop an unused slot (pg_drop_replication_slot)"));
        }
    }

    private void senders(int max, int used) {
        String name = "upstream free wal senders";
        String detail = used + " of max_wal_senders " + max + " in use";
        checks.add(used < max ? Check.ok(name, detail)
                : Check.unavailable(name, detail + ": a new replication connection is refused",
                        "raise max_wal_senders (restart needed) or stop an unused replication client"));
    }

    /** One row per configured publication; returns those that exist. */
    private List<String> publications(Connection sql) throws SQLException {
        Map<String, String> found = new LinkedHashMap<>();
        try (PreparedStatement statement = sql.prepareStatement("SELECT p.pubname, p.puballtables, "
                + "(SELECT count(*) FROM pg_catalog.pg_publication_tables t WHERE t.pubname = p.pubname) "
                + "FROM pg_catalog.pg_publication p WHERE p.pubname = ANY (?)")) {
            statement.setArray(1, sql.createArrayOf("text", config.publications().toArray()));
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    found.put(rs.getString(1), (rs.getBoolean(2) ? "FOR ALL TABLES, " : "") + rs.getLong(3) + " table(s)");
                }
            }
        }
        for (String publication : config.publications()) {
            String name = "publication " + publication;
            String tables = found.get(publication);
            if (tables == null) {
                checks.add(Check.fail(name, "does not exist on the upstream",
                        "CREATE PUBLICATION " + PublishedTable.display(publication)
                                + " FOR TABLE ... on the upstream, or fix upstream.publications"));
            } else if (tables.startsWith("0 ")) {
                checks.add(Check.warn(name, "publishes no tables", "ALTER PUBLICATION " + PublishedTable.display(publication)
                        + " ADD TABLE ... (nothing will be relayed until then)"));
            } else {
                checks.add(Check.ok(name, tables));
            }
        }
        return new ArrayList<>(found.keySet());
    }

    private List<PublishedTable> tables(Connection sql, List<String> publications, int version) throws SQLException {
        PublishedTables.Catalog catalog = PublishedTables.read(sql, publications, version);
        List<Check> problems = new ArrayList<>();
        for (PublishedTables.Identity identity : catalog.identities()) {
            if (identity.problem() != null) {
                problems.add(Check.fail("replica identity", identity.table().displayName() + ": " + identity.problem(),
                        "ALTER TABLE " + identity.table().displayName() + " ADD PRIMARY KEY (...), or ALTER TABLE "
                                + identity.table().displayName() + " REPLICA IDENTITY FULL"));
            }
        }
        if (problems.isEmpty()) {
            checks.add(Check.ok("replica identity", catalog.identitySummary()));
        }
        ProblemRows.add(checks, problems);
        return catalog.tables();
    }

    private void heartbeat(Connection sql) throws SQLException {
        if (!config.heartbeatEnabled()) {
            return;
        }
        try (PreparedStatement statement = sql.prepareStatement("SELECT has_function_privilege("
                + "'pg_catalog.pg_logical_emit_message(boolean, text, text)', 'EXECUTE')");
             ResultSet rs = statement.executeQuery()) {
            boolean allowed = rs.next() && rs.getBoolean(1);
            checks.add(allowed ? Check.ok("upstream heartbeat", "may run pg_logical_emit_message")
                    : Check.warn("upstream heartbeat", "role " + upstream.user() + " may not run pg_logical_emit_message: "
                            + "no heartbeats, end-to-end lag goes stale on an idle database",
                    "GRANT EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) TO "
                            + PublishedTable.display(upstream.user()) + ", or set heartbeat.enabled=false"));
        }
    }

    private static String setting(Connection sql, String name) throws SQLException {
        try (PreparedStatement statement = sql.prepareStatement("SELECT current_setting(?)")) {
            statement.setString(1, name);
            try (ResultSet rs = statement.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }
}
