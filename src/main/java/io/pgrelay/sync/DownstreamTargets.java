package io.pgrelay.sync;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks the downstream tables before anything is copied: each must exist with every copied
 * column, and be empty unless this relay filled it in an earlier attempt or
 * {@code sync.truncate} allows emptying it. Also decides the COPY format per table.
 */
final class DownstreamTargets {

    private static final String RELATION = """
            SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = ? AND c.relname = ? AND c.relkind IN ('r', 'p')
            """;

    private DownstreamTargets() {}

    /**
     * Fails with the first table that cannot take the copy.
     *
     * @param ours tables ({@code schema.table}) an interrupted attempt of this relay planned
     */
    static void check(Connection downstream, List<SyncTable> tables, Set<String> ours, boolean truncate)
            throws SQLException, SyncException {
        for (SyncTable table : tables) {
            Map<String, SyncTable.Column> columns = columns(downstream, table);
            for (SyncTable.Column column : table.columns()) {
                if (!columns.containsKey(column.name())) {
                    throw new SyncException("downstream table " + table.label() + " has no column \"" + column.name()
                            + "\": add it (the upstream has " + column.type() + ") before the initial sync");
                }
            }
            if (!truncate && !ours.contains(table.label()) && hasRows(downstream, table)) {
                throw new SyncException("downstream table " + table.label() + " already holds rows: the initial sync "
                        + "copies into empty tables; empty it, or set sync.truncate=true to let the relay do so");
            }
        }
    }

    private static final String FOREIGN_KEYS = """
            SELECT rn.nspname || '.' || r.relname, tn.nspname || '.' || t.relname
              FROM pg_catalog.pg_constraint k
              JOIN pg_catalog.pg_class r ON r.oid = k.conrelid JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
              JOIN pg_catalog.pg_class t ON t.oid = k.confrelid JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
             WHERE k.contype = 'f'
            """;

    /**
     * The tables a resumed copy copies again: those not {@code done}, plus every done table that
     * references one of them by a downstream foreign key (directly or through others), since
     * the one TRUNCATE that empties a referenced table must take its referencing tables along.
     */
    static List<SyncTable> toCopy(Connection downstream, List<SyncTable> tables, Set<String> done) throws SQLException {
        Map<String, Set<String>> references = new HashMap<>();
        try (PreparedStatement statement = downstream.prepareStatement(FOREIGN_KEYS);
             ResultSet rs = statement.executeQuery()) {
            while (rs.next()) {
                references.computeIfAbsent(rs.getString(1), k -> new java.util.HashSet<>()).add(rs.getString(2));
            }
        }
        Set<String> again = new java.util.HashSet<>();
        for (SyncTable table : tables) {
            if (!done.contains(table.label())) {
                again.add(table.label());
            }
        }
        boolean grew = true;
        while (grew) {
            grew = false;
            for (SyncTable table : tables) {
                Set<String> referenced = references.getOrDefault(table.label(), Set.of());
                if (!again.contains(table.label()) && referenced.stream().anyMatch(again::contains)) {
                    again.add(table.label());
                    grew = true;
                }
            }
        }
        return tables.stream().filter(table -> again.contains(table.label())).toList();
    }

    /**
     * Empties the tables that hold rows (an interrupted attempt's, or any with sync.truncate) in
     * one TRUNCATE, so foreign keys between them do not stand in the way; a table outside the
     * copy that references one of them still does, and its error names it.
     */
    static void empty(Connection downstream, List<SyncTable> tables) throws SQLException {
        List<String> holding = new java.util.ArrayList<>();
        for (SyncTable table : tables) {
            if (hasRows(downstream, table)) {
                holding.add(table.qualified());
            }
        }
        if (!holding.isEmpty()) {
            try (java.sql.Statement statement = downstream.createStatement()) {
                statement.execute("TRUNCATE " + String.join(", ", holding));
            }
        }
    }

    /** Binary COPY needs the same built-in types on both sides (user types' OIDs differ between servers). */
    static boolean binaryFits(Connection source, Connection downstream, SyncTable table)
            throws SQLException, SyncException {
        if (source.getMetaData().getDatabaseMajorVersion() != downstream.getMetaData().getDatabaseMajorVersion()) {
            return false;
        }
        Map<String, SyncTable.Column> target = columns(downstream, table);
        for (SyncTable.Column column : table.columns()) {
            SyncTable.Column other = target.get(column.name());
            if (!column.builtin() || other == null || !other.builtin() || !column.type().equals(other.type())) {
                return false;
            }
        }
        return true;
    }

    private static boolean hasRows(Connection downstream, SyncTable table) throws SQLException {
        try (PreparedStatement statement = downstream.prepareStatement(
                "SELECT EXISTS (SELECT 1 FROM " + table.qualified() + ")");
             ResultSet rs = statement.executeQuery()) {
            return rs.next() && rs.getBoolean(1);
        }
    }

    private static Map<String, SyncTable.Column> columns(Connection downstream, SyncTable table)
            throws SQLException, SyncException {
        long oid;
        try (PreparedStatement statement = downstream.prepareStatement(RELATION)) {
            statement.setString(1, table.schema());
            statement.setString(2, table.name());
            try (ResultSet rs = statement.executeQuery()) {
                if (!rs.next()) {
                    throw new SyncException("downstream table " + table.label() + " does not exist: create it with the "
                            + "upstream's definition (pg_dump --schema-only) before the initial sync");
                }
                oid = rs.getLong(1);
            }
        }
        Map<String, SyncTable.Column> byName = new HashMap<>();
        for (SyncTable.Column column : SourceCatalog.columns(downstream, oid)) {
            byName.put(column.name(), column);
        }
        return byName;
    }
}
