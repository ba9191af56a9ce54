package io.pgrelay.check;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads, from the upstream catalog, the tables the publications carry: their published
 * columns, the published operations (OR-ed over the publications) and the replica identity.
 */
final class PublishedTables {

    private PublishedTables() {}

    /** @param problem why UPDATE/DELETE cannot be matched downstream; null when the identity is usable */
    record Identity(PublishedTable table, String kind, String problem) {}

    record Catalog(List<PublishedTable> tables, List<Identity> identities) {
        String identitySummary() {
            long pk = identities.stream().filter(i -> "primary key".equals(i.kind())).count();
            long index = identities.stream().filter(i -> "USING INDEX".equals(i.kind())).count();
            long full = identities.stream().filter(i -> "FULL".equals(i.kind())).count();
            long none = identities.size() - pk - index - full;
            return identities.size() + " table(s): " + pk + " by primary key, " + index + " USING INDEX, " + full + " FULL"
                    + (none == 0 ? "" : ", " + none + " without identity (inserts only published)");
        }
    }

    /**
     * Generated columns are not published (PostgreSQL 12+); column lists (15+) narrow the columns;
     * TRUNCATE is published from 11 on.
     */
    static Catalog read(Connection sql, List<String> publications, int version) throws SQLException {
        String truncate = version >= 110000 ? "bool_or(p.pubtruncate)" : "false";
        String notGenerated = version >= 120000 ? " AND a.attgenerated = ''" : "";
        String columnList = version >= 150000 ? " AND EXISTS (SELECT 1 FROM pg_catalog.pg_publication_tables t2"
                + " WHERE t2.pubname = ANY (?) AND t2.schemaname = n.nspname AND t2.tablename = c.relname"
                + " AND a.attname = ANY (t2.attnames))" : "";
        // Joined by name, not cast to regclass: that needs USAGE on the schema, which streaming does not.
        String query = "WITH published AS ("
                + " SELECT t.schemaname, t.tablename, bool_or(p.pubinsert) AS ins,"
                + " bool_or(p.pubupdate) AS upd, bool_or(p.pubdelete) AS del, " + truncate + " AS trunc"
                + " FROM pg_catalog.pg_publication p JOIN pg_catalog.pg_publication_tables t ON t.pubname = p.pubname"
                + " WHERE p.pubname = ANY (?) GROUP BY 1, 2)"
                + " SELECT n.nspname, c.relname, pb.ins, pb.upd, pb.del, pb.trunc, c.relreplident::text,"
                + " EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary),"
                + " EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisreplident),"
                + " a.attname, format_type(a.atttypid, a.atttypmod)"
                + " FROM published pb JOIN pg_catalog.pg_namespace n ON n.nspname = pb.schemaname"
                + " JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = pb.tablename"
                + " JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
                + notGenerated + columnList
                + " ORDER BY n.nspname, c.relname, a.attnum";
        List<PublishedTable> tables = new ArrayList<>();
        List<Identity> identities = new ArrayList<>();
        try (PreparedStatement statement = sql.prepareStatement(query)) {
            java.sql.Array names = sql.createArrayOf("text", publications.toArray());
            statement.setArray(1, names);
            if (!columnList.isEmpty()) {
                statement.setArray(2, names);
            }
            try (ResultSet rs = statement.executeQuery()) {
                Row current = null;
                while (rs.next()) {
                    if (current == null || !current.schema.equals(rs.getString(1)) || !current.name.equals(rs.getString(2))) {
                        if (current != null) {
                            current.finish(tables, identities);
                        }
                        current = new Row(rs);
                    }
                    current.columns.add(new PublishedTable.Column(rs.getString(10), rs.getString(11)));
                }
                if (current != null) {
                    current.finish(tables, identities);
                }
            }
        }
        return new Catalog(tables, identities);
    }

    /** One table while its column rows are read. */
    private static final class Row {
        final String schema;
        final String name;
        final boolean inserts;
        final boolean updates;
        final boolean deletes;
        final boolean truncates;
        final String replident;
        final boolean primaryKey;
        final boolean identityIndex;
        final List<PublishedTable.Column> columns = new ArrayList<>();

        Row(ResultSet rs) throws SQLException {
            schema = rs.getString(1);
            name = rs.getString(2);
            inserts = rs.getBoolean(3);
            updates = rs.getBoolean(4);
            deletes = rs.getBoolean(5);
            truncates = rs.getBoolean(6);
            replident = rs.getString(7);
            primaryKey = rs.getBoolean(8);
            identityIndex = rs.getBoolean(9);
        }

        void finish(List<PublishedTable> tables, List<Identity> identities) {
            PublishedTable table = new PublishedTable(schema, name, columns, inserts, updates, deletes, truncates);
            tables.add(table);
            identities.add(identity(table));
        }

        private Identity identity(PublishedTable table) {
            String kind = switch (replident) {
                case "f" -> "FULL";
                case "i" -> identityIndex ? "USING INDEX" : null;
                case "d" -> primaryKey ? "primary key" : null;
                default -> null; // 'n': NOTHING
            };
            if (kind != null || !(updates || deletes)) {
                return new Identity(table, kind, null);
            }
            String why = switch (replident) {
                case "n" -> "REPLICA IDENTITY NOTHING";
                case "i" -> "REPLICA IDENTITY USING INDEX names an index that no longer exists";
                default -> "no primary key and REPLICA IDENTITY DEFAULT";
            };
            return new Identity(table, null, why + ", but " + (updates && deletes ? "UPDATE and DELETE are" : updates
                    ? "UPDATE is" : "DELETE is") + " published (the upstream refuses them, and they could not be matched downstream)");
        }
    }
}
