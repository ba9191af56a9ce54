package io.pgrelay.schema;

import io.pgrelay.sql.Identifiers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Collects the user types that columns use, each after the types it is built from (a domain
 * after its base type, a composite after its attributes' types, an array after its element),
 * so the downstream can create them in that order. Built-in types are skipped; a type that
 * belongs to an extension becomes that extension.
 */
final class TypeReader {

    private static final String TYPE = """
            SELECT n.nspname, t.typname, t.typtype, t.typcategory, t.typelem, t.typbasetype,
                   format_type(t.typbasetype, t.typtypmod), t.typnotnull, pg_get_expr(t.typdefaultbin, 0), t.typrelid,
                   e.extname, en.nspname,
                   CASE WHEN t.typcollation <> 0 AND t.typcollation <> bt.typcollation
                        THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END,
                   (SELECT relkind FROM pg_catalog.pg_class WHERE oid = t.typrelid)
              FROM pg_catalog.pg_type t
              JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
              LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype
              LEFT JOIN pg_catalog.pg_collation co ON co.oid = t.typcollation
              LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
              LEFT JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_type'::regclass AND d.objid = t.oid
                     AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
              LEFT JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
              LEFT JOIN pg_catalog.pg_namespace en ON en.oid = e.extnamespace
             WHERE t.oid = ?""";
    private static final String ENUM_LABELS =
            "SELECT enumlabel FROM pg_catalog.pg_enum WHERE enumtypid = ? ORDER BY enumsortorder";
    private static final String DOMAIN_CHECKS = """
            SELECT conname, pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint
             WHERE contypid = ? AND contype = 'c' ORDER BY conname""";
    private static final String ATTRIBUTES = """
            SELECT attname, format_type(atttypid, atttypmod), atttypid FROM pg_catalog.pg_attribute
             WHERE attrelid = ? AND attnum > 0 AND NOT attisdropped ORDER BY attnum""";
    private static final String RANGE = """
            SELECT r.rngsubtype, format_type(r.rngsubtype, NULL), r.rngsubdiff::regproc::text,
                   r.rngcanonical::oid, quote_ident(mn.nspname) || '.' || quote_ident(m.typname),
                   CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> st.typcollation
                        THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END
              FROM pg_catalog.pg_range r
              JOIN pg_catalog.pg_type st ON st.oid = r.rngsubtype
              JOIN pg_catalog.pg_type m ON m.oid = r.rngmultitypid
              JOIN pg_catalog.pg_namespace mn ON mn.oid = m.typnamespace
              LEFT JOIN pg_catalog.pg_collation co ON co.oid = r.rngcollation
              LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
             WHERE r.rngtypid = ?""";
    private static final String RANGE_OF_MULTIRANGE = "SELECT rngtypid FROM pg_catalog.pg_range WHERE rngmultitypid = ?";

    private final Connection connection;
    private final Set<Long> visited = new HashSet<>();
    private final Map<String, TypeDefinition> ordered = new LinkedHashMap<>();

    TypeReader(Connection connection) {
        this.connection = connection;
    }

    List<TypeDefinition> ordered() {
        return new ArrayList<>(ordered.values());
    }

    /** Adds the type and, first, everything it is built from. */
    void visit(long oid) throws SQLException {
        if (oid < SourceCatalog.FIRST_NORMAL_OID || !visited.add(oid)) {
            return;
        }
        try (PreparedStatement statement = connection.prepareStatement(TYPE)) {
            statement.setLong(1, oid);
            try (ResultSet rs = statement.executeQuery()) {
                if (!rs.next()) {
                    return;
                }
                TableName name = new TableName(rs.getString(1), rs.getString(2));
                if (rs.getString(11) != null) {
                    add("extension " + rs.getString(11), new TypeDefinition.Extension(rs.getString(11), rs.getString(12)));
                    return;
                }
                String kind = rs.getString(3);
                if ("A".equals(rs.getString(4)) && rs.getLong(5) != 0) {
                    visit(rs.getLong(5)); // an array comes with its element type
                    return;
                }
                switch (kind) {
                    case "e" -> add(name.toString(), new TypeDefinition.Enum(name, enumLabels(oid)));
                    case "d" -> domain(oid, name, rs);
                    case "c" -> {
                        if (!"c".equals(rs.getString(14))) {
                            throw new SchemaException("a published table has a column of type " + name + ", the row type "
                                    + "of a table: create table " + name + " on the downstream first");
                        }
                        composite(name, rs.getLong(10));
                    }
                    case "r" -> range(oid, name);
                    case "m" -> visit(rangeOfMultirange(oid));
                    default -> throw new SchemaException("type " + name + " (used by a published table) is a base type "
                            + "implemented in C and not part of an extension: install it on the downstream first");
                }
            }
        }
    }

    private void add(String key, TypeDefinition type) {
        ordered.putIfAbsent(key, type);
    }

    private List<String> enumLabels(long oid) throws SQLException {
        List<String> labels = new ArrayList<>();
        try (PreparedStatement statement = connection.prepareStatement(ENUM_LABELS)) {
            statement.setLong(1, oid);
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    labels.add(rs.getString(1));
                }
            }
        }
        return labels;
    }

    private void domain(long oid, TableName name, ResultSet type) throws SQLException {
        long base = type.getLong(6);
        String baseType = type.getString(7);
        boolean notNull = type.getBoolean(8);
        String defaultSql = type.getString(9);
        String collation = type.getString(13);
        visit(base);
        List<String> checks = new ArrayList<>();
        try (PreparedStatement statement = connection.prepareStatement(DOMAIN_CHECKS)) {
            statement.setLong(1, oid);
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    checks.add("CONSTRAINT " + Identifiers.quote(rs.getString(1)) + " " + rs.getString(2));
                }
            }
        }
        add(name.toString(), new TypeDefinition.Domain(name, baseType, collation, defaultSql, notNull, checks));
    }

    private void composite(TableName name, long relationOid) throws SQLException {
        List<String> attributes = new ArrayList<>();
        List<Long> used = new ArrayList<>();
        try (PreparedStatement statement = connection.prepareStatement(ATTRIBUTES)) {
            statement.setLong(1, relationOid);
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    attributes.add(Identifiers.quote(rs.getString(1)) + " " + rs.getString(2));
                    used.add(rs.getLong(3));
                }
            }
        }
        for (long oid : used) {
            visit(oid);
        }
        add(name.toString(), new TypeDefinition.Composite(name, attributes));
    }

    private void range(long oid, TableName name) throws SQLException {
        List<String> options = new ArrayList<>();
        long subtype;
        try (PreparedStatement statement = connection.prepareStatement(RANGE)) {
            statement.setLong(1, oid);
            try (ResultSet rs = statement.executeQuery()) {
                rs.next();
                subtype = rs.getLong(1);
                options.add("SUBTYPE = " + rs.getString(2));
                if (rs.getString(6) != null) {
                    options.add("COLLATION = " + rs.getString(6));
                }
                if (!"-".equals(rs.getString(3))) {
                    options.add("SUBTYPE_DIFF = " + rs.getString(3));
                }
                if (rs.getLong(4) != 0) {
                    throw new SchemaException("range type " + name + " has a canonical function (written in C): "
                            + "create it on the downstream first");
                }
                options.add("MULTIRANGE_TYPE_NAME = " + rs.getString(5));
            }
        }
        visit(subtype);
        add(name.toString(), new TypeDefinition.Range(name, options));
    }

    private long rangeOfMultirange(long oid) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(RANGE_OF_MULTIRANGE)) {
            statement.setLong(1, oid);
            try (ResultSet rs = statement.executeQuery()) {
                return rs.next() ? rs.getLong(1) : 0;
            }
        }
    }
}
