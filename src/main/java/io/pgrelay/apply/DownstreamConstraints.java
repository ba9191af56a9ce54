package io.pgrelay.apply;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the downstream catalog says about how writes to its tables depend on each other, read
 * once per session: which tables are linked by foreign keys or by inheritance and partitioning
 * (transitively: one group), which fire user triggers or rules (they may touch any table), and
 * which unique or exclusion constraints each table has.
 *
 * <p>Apply may change the order of writes only where nothing can observe it: parallel apply runs
 * transactions of disjoint keys on separate connections, and grouping may batch rows of
 * different tables out of their interleaved order. Both ask here first.
 */
public final class DownstreamConstraints {

    /** Per table: its foreign-key group, whether anything runs on write, and its unique column sets. */
    public record Table(String fkGroup, boolean runsCode, List<Set<String>> uniqueColumns) {

        static final Table PLAIN = new Table(null, false, List.of());

        /** True when rows of this table may be written out of order with rows of other tables. */
        public boolean isIndependent() {
            return fkGroup == null && !runsCode;
        }

        /**
         * True when the only unique constraint (if any) is on exactly {@code keyColumns}, so two
         * rows with different keys can never collide or wait on each other.
         */
        public boolean uniqueOnlyOn(Set<String> keyColumns) {
            for (Set<String> unique : uniqueColumns) {
                if (!unique.equals(keyColumns)) {
                    return false;
                }
            }
            return true;
        }
    }

    // Names always quoted, as Sql.qualified prints them, so lookups need no parsing.
    private static final String TABLES_SQL = """
            SELECT '"' || replace(n.nspname, '"', '""') || '"."' || replace(c.relname, '"', '""') || '"',
                   c.relhasrules OR EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                                             WHERE t.tgrelid = c.oid AND NOT t.tgisinternal AND t.tgenabled <> 'D')
              FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            """;

    private static final String UNIQUE_SQL = """
            SELECT '"' || replace(n.nspname, '"', '""') || '"."' || replace(c.relname, '"', '""') || '"', i.indexrelid,
                   (SELECT array_agg(a.attname ORDER BY a.attname) FROM pg_catalog.pg_attribute a
                     WHERE a.attrelid = c.oid AND a.attnum = ANY (i.indkey::int2[]) AND a.attnum > 0),
                   i.indexprs IS NOT NULL OR i.indpred IS NOT NULL
              FROM pg_catalog.pg_index i
              JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE (i.indisunique OR i.indisexclusion) AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            """;

    private static final String FOREIGN_KEYS_SQL = """
            SELECT '"' || replace(cn.nspname, '"', '""') || '"."' || replace(c.relname, '"', '""') || '"',
                   '"' || replace(fn.nspname, '"', '""') || '"."' || replace(f.relname, '"', '""') || '"'
              FROM pg_catalog.pg_constraint k
              JOIN pg_catalog.pg_class c ON c.oid = k.conrelid JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace
              JOIN pg_catalog.pg_class f ON f.oid = k.confrelid JOIN pg_catalog.pg_namespace fn ON fn.oid = f.relnamespace
             WHERE k.contype = 'f'
            UNION ALL
            -- Inheritance and partitions link tables too: an UPDATE or DELETE of a parent also
            -- reaches its children's rows (the apply statements do not say ONLY).
            SELECT '"' || replace(cn.nspname, '"', '""') || '"."' || replace(c.relname, '"', '""') || '"',
                   '"' || replace(pn.nspname, '"', '""') || '"."' || replace(p.relname, '"', '""') || '"'
              FROM pg_catalog.pg_inherits i
              JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace
              JOIN pg_catalog.pg_class p ON p.oid = i.inhparent JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
             WHERE c.relkind IN ('r', 'p')
            """;

    private final Map<String, Table> tables;

    private DownstreamConstraints(Map<String, Table> tables) {
        this.tables = tables;
    }

    /** Reads the downstream catalog (three queries, no locks). */
    public static DownstreamConstraints read(Connection connection) throws SQLException {
        Map<String, Boolean> runsCode = new HashMap<>();
        Map<String, List<Set<String>>> unique = new HashMap<>();
        ForeignKeyGroups groups = new ForeignKeyGroups();
        try (Statement statement = connection.createStatement()) {
            try (ResultSet rs = statement.executeQuery(TABLES_SQL)) {
                while (rs.next()) {
                    runsCode.put(rs.getString(1), rs.getBoolean(2));
                }
            }
            try (ResultSet rs = statement.executeQuery(UNIQUE_SQL)) {
                while (rs.next()) {
                    Set<String> columns = new HashSet<>();
                    java.sql.Array names = rs.getArray(3);
                    if (names != null) {
                        for (Object name : (Object[]) names.getArray()) {
                            columns.add((String) name);
                        }
                    }
                    if (rs.getBoolean(4)) {
                        columns.add("\0expression"); // matches no key: the table serializes
                    }
                    unique.computeIfAbsent(rs.getString(1), table -> new ArrayList<>()).add(Set.copyOf(columns));
                }
            }
            try (ResultSet rs = statement.executeQuery(FOREIGN_KEYS_SQL)) {
                while (rs.next()) {
                    groups.link(rs.getString(1), rs.getString(2));
                }
            }
        }
        Map<String, Table> tables = new HashMap<>();
        for (var entry : runsCode.entrySet()) {
            String name = entry.getKey();
            tables.put(name, new Table(groups.groupOf(name), entry.getValue(),
                    List.copyOf(unique.getOrDefault(name, List.of()))));
        }
        return new DownstreamConstraints(tables);
    }

    /** For tests and for downstreams where nothing is known: every table independent. */
    static DownstreamConstraints none() {
        return new DownstreamConstraints(Map.of());
    }

    /** For tests: exactly these tables, by {@link Sql#qualified} name. */
    static DownstreamConstraints of(Map<String, Table> tables) {
        return new DownstreamConstraints(Map.copyOf(tables));
    }

    /**
     * The table as {@link Sql#qualified} names it. A table the catalog did not list (created
     * after the session started) is treated as the strictest kind: it runs code.
     */
    public Table table(String qualifiedName) {
        Table table = tables.get(qualifiedName);
        return table != null ? table : tables.isEmpty() ? Table.PLAIN : new Table(null, true, List.of());
    }

    /** Union-find over tables linked by foreign keys; a group is named by one of its tables. */
    static final class ForeignKeyGroups {
        private final Map<String, String> parent = new HashMap<>();

        void link(String a, String b) {
            String rootA = root(a);
            String rootB = root(b);
            if (!rootA.equals(rootB)) {
                parent.put(rootA, rootB);
            }
        }

        /** The group's name, or null for a table without foreign keys. */
        String groupOf(String table) {
            return parent.containsKey(table) ? root(table) : null;
        }

        private String root(String table) {
            String current = parent.computeIfAbsent(table, t -> t);
            while (!parent.get(current).equals(current)) {
                String next = parent.get(current);
                parent.put(current, parent.get(next)); // path halving
                current = next;
            }
            return current;
        }
    }
}
