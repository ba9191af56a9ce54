package io.pgrelay.schema;

import io.pgrelay.sql.Identifiers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads table, type and sequence definitions from a source's pg_catalog over an ordinary
 * connection: the upstream server, or for a child relay its parent's downstream database.
 * Reads only; the connection's search_path is set to pg_catalog while reading (so every name
 * the server formats comes out schema-qualified) and restored afterwards.
 */
final class SourceCatalog {

    /** Below this oid everything was created by initdb and exists on every server alike. */
    static final int FIRST_NORMAL_OID = 16384;

    private static final String PUBLISHED = """
            SELECT DISTINCT schemaname, tablename FROM pg_catalog.pg_publication_tables
             WHERE pubname = ANY (?) ORDER BY 1, 2""";
    /** PostgreSQL 15 on: the columns each publication sends (all of them without a column list). */
    private static final String PUBLISHED_COLUMNS = """
            SELECT schemaname, tablename, attnames FROM pg_catalog.pg_publication_tables
             WHERE pubname = ANY (?)""";
    private static final String TABLE = """
            SELECT c.oid FROM pg_catalog.pg_class c
              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = ? AND c.relname = ? AND c.relkind IN ('r', 'p')""";
    private static final String COLUMNS = """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.atttypid, a.attnotnull,
                   CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                        THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END,
                   pg_get_expr(d.adbin, d.adrelid), a.attgenerated, a.attidentity
              FROM pg_catalog.pg_attribute a
              JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
              LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
              LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
             WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum""";
    private static final String KEY_INDEXES = """
            SELECT i.indisprimary, i.indisreplident, pg_get_indexdef(i.indexrelid), con.conname,
                   pg_get_constraintdef(con.oid), ic.relname
              FROM pg_catalog.pg_index i
              JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
              LEFT JOIN pg_catalog.pg_constraint con
                     ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u')
             WHERE i.indrelid = ? AND (i.indisprimary OR i.indisreplident)""";
    private static final String OWNED_SEQUENCES = """
            SELECT a.attname, sn.nspname, sc.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,
                   s.seqmin, s.seqmax, s.seqcache, s.seqcycle
              FROM pg_catalog.pg_depend d
              JOIN pg_catalog.pg_class sc ON sc.oid = d.objid AND sc.relkind = 'S'
              JOIN pg_catalog.pg_namespace sn ON sn.oid = sc.relnamespace
              JOIN pg_catalog.pg_sequence s ON s.seqrelid = sc.oid
              JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
               AND d.refobjid = ? AND d.deptype IN ('a', 'i')
             ORDER BY a.attnum""";

    private final Connection connection;
    private final TypeReader types;

    SourceCatalog(Connection connection) {
        this.connection = connection;
        this.types = new TypeReader(connection);
    }

    /** The tables the publications publish (the partitioned root when published via the root). */
    static List<TableName> publishedTables(Connection connection, List<String> publications) throws SQLException {
        List<TableName> tables = new ArrayList<>();
        try (PreparedStatement statement = connection.prepareStatement(PUBLISHED)) {
            statement.setArray(1, connection.createArrayOf("text", publications.toArray()));
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    tables.add(new TableName(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return tables;
    }

    /**
     * The columns the publications send, per table (PostgreSQL 15 on, where a publication may
     * have a column list; without one every column is listed). A table in several publications
     * gets the union. Empty before 15: every column is sent.
     */
    static Map<TableName, Set<String>> publishedColumns(Connection connection, List<String> publications)
            throws SQLException {
        Map<TableName, Set<String>> columns = new HashMap<>();
        if (connection.getMetaData().getDatabaseMajorVersion() < 15) {
            return columns;
        }
        try (PreparedStatement statement = connection.prepareStatement(PUBLISHED_COLUMNS)) {
            statement.setArray(1, connection.createArrayOf("text", publications.toArray()));
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    TableName table = new TableName(rs.getString(1), rs.getString(2));
                    columns.computeIfAbsent(table, t -> new HashSet<>()).addAll(List.of((String[]) rs.getArray(3).getArray()));
                }
            }
        }
        return columns;
    }

    /** Reads the definitions of {@code tables}, whole, and of the types and sequences they use. */
    SourceSchema read(List<TableName> tables) throws SQLException {
        return read(tables, Map.of());
    }

    /**
     * As {@link #read(List)}, keeping of a table listed in {@code published} only those columns
     * (a publication's column list), so the downstream has no column that nothing fills.
     */
    SourceSchema read(List<TableName> tables, Map<TableName, Set<String>> published) throws SQLException {
        String searchPath = setSearchPath("pg_catalog");
        SQLException failure = null;
        try {
            List<TableDefinition> definitions = new ArrayList<>();
            List<SequenceDefinition> sequences = new ArrayList<>();
            for (TableName table : tables) {
                long oid = tableOid(table);
                Map<String, SequenceDefinition> owned = ownedSequences(oid, table);
                sequences.addAll(owned.values());
                TableDefinition definition = table(oid, table, owned, published.get(table));
                for (TableDefinition.Column column : definition.columns()) {
                    types.visit(column.typeOid());
                }
                definitions.add(definition);
            }
            return new SourceSchema(types.ordered(), sequences, definitions);
        } catch (SQLException e) {
            failure = e;
            throw e;
        } finally {
            restoreSearchPath(searchPath, failure);
        }
    }

    /** Best effort after a failure (the transaction may be aborted): the first error is the one to report. */
    private void restoreSearchPath(String searchPath, SQLException failure) throws SQLException {
        try {
            setSearchPath(searchPath);
        } catch (SQLException e) {
            if (failure == null) {
                throw e;
            }
            failure.addSuppressed(e);
        }
    }

    /** Sequences owned by {@code table}'s columns, by column name. */
    Map<String, SequenceDefinition> ownedSequences(long oid, TableName table) throws SQLException {
        Map<String, SequenceDefinition> owned = new LinkedHashMap<>();
        try (PreparedStatement statement = connection.prepareStatement(OWNED_SEQUENCES)) {
            statement.setLong(1, oid);
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    owned.put(rs.getString(1), new SequenceDefinition(new TableName(rs.getString(2), rs.getString(3)),
                            rs.getString(4), rs.getLong(5), rs.getLong(6), rs.getLong(7), rs.getLong(8), rs.getLong(9),
                            rs.getBoolean(10), table, rs.getString(1)));
                }
            }
        }
        return owned;
    }

    long tableOid(TableName table) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(TABLE)) {
            statement.setString(1, table.schema());
            statement.setString(2, table.name());
            try (ResultSet rs = statement.executeQuery()) {
                if (!rs.next()) {
                    throw new SchemaException("table " + table + " does not exist in the source database "
                            + "(or is not a table): check the publication or the table list");
                }
                return rs.getLong(1);
            }
        }
    }

    private TableDefinition table(long oid, TableName table, Map<String, SequenceDefinition> owned,
                                  Set<String> published) throws SQLException {
        List<TableDefinition.Column> columns = columns(oid, owned);
        if (published != null) {
            columns.removeIf(column -> !published.contains(column.name()));
        }
        String primaryKey = null;
        String identityIndex = null;
        String identityName = null;
        try (PreparedStatement statement = connection.prepareStatement(KEY_INDEXES)) {
            statement.setLong(1, oid);
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    boolean primary = rs.getBoolean(1);
                    String constraint = rs.getString(4);
                    if (primary) {
                        primaryKey = "CONSTRAINT " + Identifiers.quote(constraint) + " " + rs.getString(5);
                    } else if (rs.getBoolean(2)) {
                        identityName = rs.getString(6);
                        identityIndex = constraint != null
                                ? "ALTER TABLE " + table.quoted() + " ADD CONSTRAINT " + Identifiers.quote(constraint)
                                        + " " + rs.getString(5)
                                // A partitioned index prints as ON ONLY, which a plain table does not need.
                                : rs.getString(3).replace(" ON ONLY ", " ON ");
                    }
                }
            }
        }
        return new TableDefinition(table, columns, primaryKey, identityIndex,
                replicaIdentity(oid, identityName, table));
    }

    private String replicaIdentity(long oid, String identityIndex, TableName table) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(
                "SELECT relreplident FROM pg_catalog.pg_class WHERE oid = ?")) {
            statement.setLong(1, oid);
            try (ResultSet rs = statement.executeQuery()) {
                rs.next();
                return switch (rs.getString(1)) {
                    case "f" -> "FULL";
                    case "n" -> "NOTHING";
                    case "i" -> identityIndex == null ? null : "USING INDEX " + Identifiers.quote(identityIndex);
                    default -> null;
                };
            }
        }
    }

    private List<TableDefinition.Column> columns(long oid, Map<String, SequenceDefinition> owned) throws SQLException {
        List<TableDefinition.Column> columns = new ArrayList<>();
        try (PreparedStatement statement = connection.prepareStatement(COLUMNS)) {
            statement.setLong(1, oid);
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    String name = rs.getString(1);
                    String expression = rs.getString(6);
                    boolean generated = "s".equals(rs.getString(7));
                    columns.add(new TableDefinition.Column(name, rs.getString(2), rs.getInt(3), rs.getBoolean(4),
                            rs.getString(5), generated ? null : defaultOf(expression, owned.get(name)),
                            generated ? expression : null));
                }
            }
        }
        return columns;
    }

    /**
     * A column that owns a sequence (serial, identity) takes its next value from the copy of that
     * sequence; any other nextval() default names a sequence bootstrap does not create, so it is
     * left out. Identity columns become plain columns with that default: the downstream receives
     * explicit values, which GENERATED ALWAYS would refuse.
     */
    private static String defaultOf(String expression, SequenceDefinition owned) {
        if (owned != null) {
            return "nextval(" + Identifiers.literal(owned.name().quoted()) + "::regclass)";
        }
        if (expression != null && expression.contains("nextval(")) {
            return null;
        }
        return expression;
    }

    private String setSearchPath(String path) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(
                "SELECT current_setting('search_path'), set_config('search_path', ?, false)")) {
            statement.setString(1, path);
            try (ResultSet rs = statement.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }
}
