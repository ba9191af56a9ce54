package io.pgrelay.check;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads what the downstream has for the published tables in two queries, however many tables
 * there are (a preflight over a slow link must not cost a round trip per table and privilege).
 * Tables are looked up by name in the catalog: to_regclass would raise an error without USAGE
 * on the schema, and that is something to report, not to fail on.
 */
final class DownstreamTables {

    private static final List<String> PRIVILEGES = List.of("INSERT", "UPDATE", "DELETE", "TRUNCATE", "SELECT");
    private static final String TABLES_SQL = """
            SELECT t.ord, c.oid::bigint, has_schema_privilege(ns.oid, 'USAGE'),
                   has_table_privilege(c.oid, 'INSERT'), has_table_privilege(c.oid, 'UPDATE'),
                   has_table_privilege(c.oid, 'DELETE'), has_table_privilege(c.oid, 'TRUNCATE'),
                   has_table_privilege(c.oid, 'SELECT')
              FROM unnest(?::text[], ?::text[]) WITH ORDINALITY AS t(s, n, ord)
              LEFT JOIN pg_catalog.pg_namespace ns ON ns.nspname = t.s
              LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = ns.oid AND c.relname = t.n AND c.relkind IN ('r', 'p', 'f')
            """;
    /** %s: whether the column is generated (PostgreSQL 12+). */
    private static final String COLUMNS_SQL = """
            SELECT a.attrelid::bigint, a.attname, format_type(a.atttypid, a.atttypmod),
                   a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' AND NOT %s
              FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = ANY (?::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attrelid, a.attnum
            """;

    private DownstreamTables() {}

    /** A downstream column: its {@code format_type} and whether an INSERT must give it a value. */
    record Column(String type, boolean requiresValue) {}

    /**
     * A downstream table that exists.
     *
     * @param schemaUsage whether the role has USAGE on its schema
     * @param privileges  the privileges of {@link #PRIVILEGES} the role holds on it
     */
    record Found(boolean schemaUsage, Set<String> privileges, Map<String, Column> columns) {}

    /** The tables that exist downstream; a published table missing from the map does not exist. */
    static Map<PublishedTable, Found> read(Connection sql, List<PublishedTable> tables, boolean generatedColumns)
            throws SQLException {
        Map<Long, PublishedTable> byOid = new HashMap<>();
        Map<PublishedTable, Boolean> usage = new HashMap<>();
        Map<PublishedTable, Set<String>> privileges = new HashMap<>();
        try (PreparedStatement statement = sql.prepareStatement(TABLES_SQL)) {
            statement.setArray(1, sql.createArrayOf("text", tables.stream().map(PublishedTable::schema).toArray()));
            statement.setArray(2, sql.createArrayOf("text", tables.stream().map(PublishedTable::name).toArray()));
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    if (rs.getObject(2) == null) {
                        continue;
                    }
                    PublishedTable table = tables.get(rs.getInt(1) - 1);
                    byOid.put(rs.getLong(2), table);
                    usage.put(table, rs.getBoolean(3));
                    Set<String> held = new HashSet<>();
                    for (int i = 0; i < PRIVILEGES.size(); i++) {
                        if (rs.getBoolean(4 + i)) {
                            held.add(PRIVILEGES.get(i));
                        }
                    }
                    privileges.put(table, held);
                }
            }
        }
        Map<PublishedTable, Map<String, Column>> columns = columns(sql, byOid, generatedColumns);
        Map<PublishedTable, Found> found = new LinkedHashMap<>();
        for (PublishedTable table : byOid.values()) {
            found.put(table, new Found(usage.get(table), privileges.get(table),
                    columns.getOrDefault(table, Map.of())));
        }
        return found;
    }

    private static Map<PublishedTable, Map<String, Column>> columns(Connection sql, Map<Long, PublishedTable> byOid,
                                                                    boolean generatedColumns) throws SQLException {
        Map<PublishedTable, Map<String, Column>> columns = new HashMap<>();
        if (byOid.isEmpty()) {
            return columns;
        }
        String query = COLUMNS_SQL.formatted(generatedColumns ? "a.attgenerated <> ''" : "false");
        try (PreparedStatement statement = sql.prepareStatement(query)) {
            statement.setArray(1, sql.createArrayOf("int8", byOid.keySet().toArray()));
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    columns.computeIfAbsent(byOid.get(rs.getLong(1)), t -> new LinkedHashMap<>())
                            .put(rs.getString(2), new Column(rs.getString(3), rs.getBoolean(4)));
                }
            }
        }
        return columns;
    }
}
