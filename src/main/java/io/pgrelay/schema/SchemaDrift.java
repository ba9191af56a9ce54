package io.pgrelay.schema;

import io.pgrelay.sql.Identifiers;
import io.pgrelay.apply.RelationCheck;
import io.pgrelay.decode.PgOutputMessage.Column;
import io.pgrelay.decode.PgOutputMessage.Relation;
import io.pgrelay.decode.PgOutputMessage.Type;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compares each Relation message with the downstream table before any change uses it. A column
 * the downstream lacks is added (nullable) under {@code schema.add-columns=true}, otherwise it
 * stops the relay; so do a changed type, a column dropped upstream while streaming, and a
 * downstream-only column that no row could fill (NOT NULL without default). Other
 * downstream-only columns are allowed: new rows leave them at their default.
 *
 * <p>Types: built-in type oids are the same on every server and are compared as oids; user
 * types differ per server, so pgoutput names them in a Type message first, and those are
 * compared by schema and name. One instance per session (Type messages are per session); used
 * only by the apply thread.
 */
public final class SchemaDrift implements RelationCheck {

    private static final Logger log = LoggerFactory.getLogger(SchemaDrift.class);
    /** pgoutput sends a Type message for every type at or above this oid (FirstGenbkiObjectId). */
    private static final int FIRST_NAMED_OID = 10000;

    private static final String COLUMNS = """
            SELECT a.attname, a.atttypid, a.atttypmod, n.nspname, t.typname, format_type(a.atttypid, a.atttypmod),
                   a.attnotnull, a.atthasdef OR a.attidentity <> '', a.attgenerated <> '', t.typtype = 'd'
              FROM pg_catalog.pg_attribute a
              JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
              JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
             WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum""";
    private static final String NAMED_TYPE = """
            SELECT format_type(t.oid, ?) FROM pg_catalog.pg_type t
              JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname = ? AND t.typname = ?""";
    /** The type a domain is ultimately based on (domains may stack). */
    private static final String DOMAIN_BASE = """
            WITH RECURSIVE chain(oid, base) AS (
                SELECT oid, typbasetype FROM pg_catalog.pg_type WHERE oid = ?
                UNION ALL
                SELECT t.oid, t.typbasetype FROM chain JOIN pg_catalog.pg_type t ON t.oid = chain.base)
            SELECT n.nspname, t.typname FROM chain
              JOIN pg_catalog.pg_type t ON t.oid = chain.oid
              JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
             WHERE chain.base = 0""";

    private final boolean addColumns;
    private final Map<Integer, Type> types = new HashMap<>();

    public SchemaDrift(boolean addColumns) {
        this.addColumns = addColumns;
    }

    private record DownstreamColumn(String name, long typeOid, int typeModifier, String typeSchema, String typeName,
                                    String formatted, boolean notNull, boolean hasDefault, boolean generated,
                                    boolean domain) {}

    /**
     * pgoutput names pg_catalog with an empty namespace, and names a domain by its base type
     * (it sends getBaseType's name under the domain's oid): so a Type message cannot tell a
     * domain from its base type, and {@link #sameType} accepts either.
     */
    @Override
    public void type(Type type) {
        String namespace = type.namespace().isEmpty() ? "pg_catalog" : type.namespace();
        types.put(type.typeOid(), new Type(type.typeOid(), namespace, type.name()));
    }

    @Override
    public void relation(Connection downstream, Relation previous, Relation relation) throws SQLException {
        String table = Identifiers.qualified(relation.namespace(), relation.name());
        Map<String, DownstreamColumn> columns = downstreamColumns(downstream, table);
        if (columns.isEmpty()) {
            return; // no such table: the first change for it reports that, naming the fix
        }
        for (Column column : relation.columns()) {
            DownstreamColumn existing = columns.remove(column.name());
            if (existing == null) {
                missing(downstream, relation, table, column);
            } else if (!sameType(downstream, column, existing)) {
                throw new SchemaException(prefix(relation) + "upstream column " + Identifiers.quote(column.name()) + " is "
                        + describeType(downstream, column) + " but downstream it is " + existing.formatted()
                        + "; change it (ALTER TABLE " + table + " ALTER COLUMN " + Identifiers.quote(column.name())
                        + " TYPE " + describeType(downstream, column) + "), then start the relay again");
            }
        }
        for (DownstreamColumn extra : columns.values()) {
            downstreamOnly(relation, previous, table, extra);
        }
    }

    private void missing(Connection downstream, Relation relation, String table, Column column) throws SQLException {
        String type = upstreamType(downstream, column);
        String add = "ALTER TABLE " + table + " ADD COLUMN " + Identifiers.quote(column.name()) + " ";
        if (type == null) {
            throw new SchemaException(prefix(relation) + "upstream column " + Identifiers.quote(column.name())
                    + " is missing downstream and its type " + describeType(downstream, column)
                    + " does not exist there; create the type downstream, then add the column ("
                    + add + describeType(downstream, column) + ")");
        }
        if (!addColumns) {
            throw new SchemaException(prefix(relation) + "upstream column " + Identifiers.quote(column.name()) + " ("
                    + type + ") is missing downstream; add it (" + add + type + ") or set schema.add-columns=true");
        }
        try (Statement statement = downstream.createStatement()) {
            statement.execute(add + type);
        }
        log.info("schema.add-columns: added column {} ({}) to downstream table {}, as the upstream sends it",
                Identifiers.quote(column.name()), type, relation.qualifiedName());
    }

    private void downstreamOnly(Relation relation, Relation previous, String table, DownstreamColumn extra) {
        if (extra.generated()) {
            return; // pgoutput never sends generated columns; the downstream computes its own
        }
        boolean wasSent = previous != null && previous.columns().stream().anyMatch(c -> c.name().equals(extra.name()));
        if (wasSent) {
            throw new SchemaException(prefix(relation) + "upstream column " + Identifiers.quote(extra.name())
                    + " was dropped but the downstream still has it; drop it there (ALTER TABLE " + table
                    + " DROP COLUMN " + Identifiers.quote(extra.name()) + ") and start the relay again"
                    + " (or just start again to keep it: new rows then leave it at its default)");
        }
        if (extra.notNull() && !extra.hasDefault()) {
            throw new SchemaException(prefix(relation) + "downstream column " + Identifiers.quote(extra.name())
                    + " is NOT NULL without a default but the upstream does not send it, so no row fits; drop it, "
                    + "give it a default or make it nullable (ALTER TABLE " + table + " ALTER COLUMN "
                    + Identifiers.quote(extra.name()) + " DROP NOT NULL)");
        }
    }

    private static String prefix(Relation relation) {
        return "table " + relation.qualifiedName() + ": ";
    }

    /**
     * Same type and modifier. A user type without a Type message this session cannot be named,
     * so it is not judged (a feed that lost it must not stop the relay for nothing).
     */
    private boolean sameType(Connection downstream, Column column, DownstreamColumn existing) throws SQLException {
        if (column.typeModifier() != existing.typeModifier()) {
            return false;
        }
        Type named = types.get(column.typeOid());
        if (named != null) {
            return named.namespace().equals(existing.typeSchema()) && named.name().equals(existing.typeName())
                    || existing.domain() && isDomainBase(downstream, existing.typeOid(), named);
        }
        return column.typeOid() >= FIRST_NAMED_OID || column.typeOid() == existing.typeOid();
    }

    private static boolean isDomainBase(Connection downstream, long domain, Type named) throws SQLException {
        try (PreparedStatement statement = downstream.prepareStatement(DOMAIN_BASE)) {
            statement.setLong(1, domain);
            try (ResultSet rs = statement.executeQuery()) {
                return rs.next() && named.namespace().equals(rs.getString(1)) && named.name().equals(rs.getString(2));
            }
        }
    }

    /** The upstream column's type as the downstream spells it, or null when the downstream lacks it. */
    private String upstreamType(Connection downstream, Column column) throws SQLException {
        Type named = types.get(column.typeOid());
        if (named != null) {
            try (PreparedStatement statement = downstream.prepareStatement(NAMED_TYPE)) {
                statement.setInt(1, column.typeModifier());
                statement.setString(2, named.namespace());
                statement.setString(3, named.name());
                try (ResultSet rs = statement.executeQuery()) {
                    return rs.next() ? rs.getString(1) : null;
                }
            }
        }
        if (column.typeOid() >= SourceCatalog.FIRST_NORMAL_OID) {
            return null;
        }
        try (PreparedStatement statement = downstream.prepareStatement("SELECT format_type(?::oid, ?)")) {
            statement.setLong(1, Integer.toUnsignedLong(column.typeOid()));
            statement.setInt(2, column.typeModifier());
            try (ResultSet rs = statement.executeQuery()) {
                rs.next();
                String type = rs.getString(1);
                return type == null || type.equals("???") ? null : type;
            }
        }
    }

    /** The type for messages: as the downstream spells it, else as the upstream named it. */
    private String describeType(Connection downstream, Column column) throws SQLException {
        String type = upstreamType(downstream, column);
        if (type != null) {
            return type;
        }
        Type named = types.get(column.typeOid());
        return named != null ? Identifiers.qualified(named.namespace(), named.name())
                : "type oid " + Integer.toUnsignedString(column.typeOid());
    }

    private static Map<String, DownstreamColumn> downstreamColumns(Connection downstream, String table) throws SQLException {
        Map<String, DownstreamColumn> columns = new LinkedHashMap<>();
        try (PreparedStatement statement = downstream.prepareStatement(COLUMNS)) {
            statement.setString(1, table);
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    columns.put(rs.getString(1), new DownstreamColumn(rs.getString(1), rs.getLong(2), rs.getInt(3),
                            rs.getString(4), rs.getString(5), rs.getString(6), rs.getBoolean(7), rs.getBoolean(8),
                            rs.getBoolean(9), rs.getBoolean(10)));
                }
            }
        }
        return columns;
    }
}
