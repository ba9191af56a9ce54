package io.pgrelay.sync;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads, under the copy's snapshot, which tables to copy and their columns. On a PostgreSQL
 * upstream the list is the publications' ({@code pg_publication_tables}, row filters and column
 * lists included from 15 on); on a parent relay's downstream it is what that relay relays
 * ({@code pgrelay.relayed_table}).
 */
final class SourceCatalog {

    private static final String PUBLISHED_15 = """
            SELECT pt.schemaname, pt.tablename, pt.rowfilter, pt.attnames::text[]
              FROM pg_catalog.pg_publication_tables pt
             WHERE pt.pubname = ANY (?)
             ORDER BY 1, 2
            """;
    private static final String PUBLISHED_OLD = """
            SELECT pt.schemaname, pt.tablename, NULL::text, NULL::text[]
              FROM pg_catalog.pg_publication_tables pt
             WHERE pt.pubname = ANY (?)
             ORDER BY 1, 2
            """;
    private static final String RELAYED = """
            SELECT DISTINCT schema_name, table_name, NULL::text, NULL::text[]
              FROM pgrelay.relayed_table
             ORDER BY 1, 2
            """;
    private static final String RELATION = """
            SELECT c.oid, c.relkind, GREATEST(c.reltuples, 0)::bigint
              FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = ? AND c.relname = ?
            """;
    private static final String COLUMNS = """
            SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.atttypid < 16384
              FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = ?::oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
             ORDER BY a.attnum
            """;

    private SourceCatalog() {}

    /** The published tables of {@code publications} on a PostgreSQL upstream. */
    static List<SyncTable> published(Connection source, List<String> publications)
            throws SQLException, SyncException {
        boolean v15 = source.getMetaData().getDatabaseMajorVersion() >= 15;
        try (PreparedStatement statement = source.prepareStatement(v15 ? PUBLISHED_15 : PUBLISHED_OLD)) {
            statement.setArray(1, source.createArrayOf("text", publications.toArray()));
            return describe(source, statement);
        }
    }

    /** The tables a parent relay lists in its downstream's {@code pgrelay.relayed_table}. */
    static List<SyncTable> relayed(Connection source) throws SQLException, SyncException {
        try (PreparedStatement check = source.prepareStatement("SELECT to_regclass('pgrelay.relayed_table') IS NOT NULL");
             ResultSet rs = check.executeQuery()) {
            if (!rs.next() || !rs.getBoolean(1)) {
                throw new SyncException("sync.source.url has no pgrelay.relayed_table: point it at the parent relay's "
                        + "downstream database, and let that relay stream once (it records its table list there)");
            }
        }
        try (PreparedStatement statement = source.prepareStatement(RELAYED)) {
            List<SyncTable> tables = describe(source, statement);
            if (tables.isEmpty()) {
                throw new SyncException("the parent relay's downstream lists no tables in pgrelay.relayed_table: "
                        + "the parent records them when it streams from a PostgreSQL upstream or finishes an initial "
                        + "sync; start the parent, then this relay again");
            }
            return tables;
        }
    }

    /** Row filters of several publications combine with OR; any publication without one wins. */
    private record Publication(Set<String> filters, boolean unfiltered, Set<String> columns, boolean allColumns) {}

    private static List<SyncTable> describe(Connection source, PreparedStatement listing)
            throws SQLException, SyncException {
        Map<List<String>, Publication> byTable = new LinkedHashMap<>();
        try (ResultSet rs = listing.executeQuery()) {
            while (rs.next()) {
                Publication seen = byTable.computeIfAbsent(List.of(rs.getString(1), rs.getString(2)),
                        key -> new Publication(new HashSet<>(), false, new HashSet<>(), false));
                String filter = rs.getString(3);
                Array names = rs.getArray(4);
                Set<String> filters = seen.filters();
                Set<String> columns = seen.columns();
                if (filter != null) {
                    filters.add(filter);
                }
                if (names != null) {
                    columns.addAll(Arrays.asList((String[]) names.getArray()));
                }
                byTable.put(List.of(rs.getString(1), rs.getString(2)), new Publication(filters,
                        seen.unfiltered() || filter == null, columns, seen.allColumns() || names == null));
            }
        }
        List<SyncTable> tables = new ArrayList<>();
        for (Map.Entry<List<String>, Publication> entry : byTable.entrySet()) {
            tables.add(table(source, entry.getKey().get(0), entry.getKey().get(1), entry.getValue()));
        }
        return tables;
    }

    private static SyncTable table(Connection source, String schema, String name, Publication publication)
            throws SQLException, SyncException {
        long oid;
        boolean partitioned;
        long estimate;
        try (PreparedStatement statement = source.prepareStatement(RELATION)) {
            statement.setString(1, schema);
            statement.setString(2, name);
            try (ResultSet rs = statement.executeQuery()) {
                if (!rs.next()) {
                    throw new SyncException("table " + schema + "." + name + " is listed for the copy but does not "
                            + "exist on the copy's source");
                }
                oid = rs.getLong(1);
                partitioned = "p".equals(rs.getString(2));
                estimate = rs.getLong(3);
            }
        }
        List<SyncTable.Column> columns = new ArrayList<>();
        for (SyncTable.Column column : columns(source, oid)) {
            if (publication.allColumns() || publication.columns().contains(column.name())) {
                columns.add(column);
            }
        }
        String filter = publication.unfiltered() || publication.filters().isEmpty() ? null
                : "(" + String.join(") OR (", publication.filters()) + ")";
        return new SyncTable(schema, name, partitioned, columns, filter, estimate);
    }

    /** The non-generated columns of the relation {@code oid}, in order. */
    static List<SyncTable.Column> columns(Connection connection, long oid) throws SQLException {
        List<SyncTable.Column> columns = new ArrayList<>();
        try (PreparedStatement statement = connection.prepareStatement(COLUMNS)) {
            statement.setLong(1, oid);
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    columns.add(new SyncTable.Column(rs.getString(1), rs.getString(2), rs.getBoolean(3)));
                }
            }
        }
        return columns;
    }
}
