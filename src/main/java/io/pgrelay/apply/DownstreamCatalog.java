package io.pgrelay.apply;

import io.pgrelay.decode.PgOutputMessage.Relation;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Looks up target tables in the downstream catalog. This is the downstream's catalog, read to
 * fail early and clearly; relation metadata of the stream itself comes only from Relation
 * messages.
 */
final class DownstreamCatalog {

    private static final String COLUMNS_SQL = """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), c.relkind = 'p',
                   quote_ident(tn.nspname) || '.' || quote_ident(t.typname)
              FROM pg_catalog.pg_attribute a
              JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
              JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
              JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
             WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum
            """;

    /** Equality support per formatted type name; a type's answer never changes while we run. */
    private final Map<String, Boolean> comparableTypes = new HashMap<>();

    /**
     * Describes the downstream table for {@code relation}, or fails naming what is missing.
     * {@code probeEquality} is needed only for REPLICA IDENTITY FULL, whose old row is matched
     * on every column.
     */
    DownstreamTable describe(Connection connection, Relation relation, boolean probeEquality) throws SQLException {
        String qualified = Sql.qualified(relation.namespace(), relation.name());
        Map<String, DownstreamTable.ColumnType> columns = new LinkedHashMap<>();
        boolean partitioned = false;
        try (PreparedStatement statement = connection.prepareStatement(COLUMNS_SQL)) {
            statement.setString(1, qualified);
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    partitioned = rs.getBoolean(3);
                    String type = rs.getString(2);
                    boolean comparable = !probeEquality || isComparable(connection, type);
                    columns.put(rs.getString(1), new DownstreamTable.ColumnType(type, comparable, rs.getString(4)));
                }
            }
        }
        if (columns.isEmpty()) {
            throw ApplyException.setup("downstream table " + qualified + " does not exist (upstream "
                    + relation.qualifiedName() + " sends changes for it): create it with the upstream's columns, "
                    + "or remove the table from the publication");
        }
        for (var column : relation.columns()) {
            if (!columns.containsKey(column.name())) {
                throw ApplyException.setup("downstream table " + qualified + " has no column "
                        + Sql.quoteIdentifier(column.name()) + " that the upstream sends: add it with the upstream's type");
            }
        }
        return new DownstreamTable(qualified, columns, partitioned);
    }

    /**
     * Asks the server whether '=' exists for the type: exact for domains, arrays, enums and
     * ranges, where reasoning over pg_opclass would have to re-implement the type cache.
     */
    private boolean isComparable(Connection connection, String type) throws SQLException {
        Boolean known = comparableTypes.get(type);
        if (known != null) {
            return known;
        }
        Savepoint savepoint = connection.getAutoCommit() ? null : connection.setSavepoint();
        boolean comparable;
        try (Statement statement = connection.createStatement()) {
            statement.execute("SELECT NULL::" + type + " IS NOT DISTINCT FROM NULL::" + type);
            comparable = true;
        } catch (SQLException e) {
            if (!"42883".equals(e.getSQLState())) { // undefined_function: no '=' operator
                throw e;
            }
            comparable = false;
            if (savepoint != null) {
                connection.rollback(savepoint);
            }
        }
        if (savepoint != null) {
            connection.releaseSavepoint(savepoint);
        }
        comparableTypes.put(type, comparable);
        return comparable;
    }
}
