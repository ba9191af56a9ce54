package io.pgrelay.check;

import io.pgrelay.config.ConflictPolicy;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.config.RelayConfig.Endpoint;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Checks the downstream: the login, that pgrelay can keep its checkpoint in schema
 * {@code pgrelay}, and for every published table that the downstream table exists with the
 * upstream's columns (names; types compared as {@code format_type} prints them) and that the
 * role may write it.
 */
final class DownstreamChecks {

    static final String CONNECTION = "downstream connection";
    private final RelayConfig config;
    private final Endpoint downstream;
    private final List<Check> checks = new ArrayList<>();
    private boolean generatedColumns;

    DownstreamChecks(RelayConfig config) {
        this.config = config;
        this.downstream = config.downstream();
    }

    /**
     * @param tables              the published tables; null when the upstream could not list them
     * @param tablesWillBeCreated whether run creates missing downstream tables from the upstream
     *                            catalog, so a missing table is no failure (only CREATE on its schema is needed)
     */
    List<Check> run(List<PublishedTable> tables, boolean tablesWillBeCreated) {
        try (Connection sql = CheckConnections.sql(downstream, "pgrelay-check:" + config.relayName())) {
            checks.add(Check.ok(CONNECTION, "PostgreSQL " + setting(sql, "server_version") + ", database "
                    + sql.getCatalog() + " as " + downstream.user()));
            generatedColumns = Integer.parseInt(setting(sql, "server_version_num")) >= 120000;
            checkpointSchema(sql);
            if (tables == null) {
                checks.add(Check.skip("downstream tables", "the published tables are not known here (see the upstream rows)"));
            } else {
                tables(sql, tables, tablesWillBeCreated);
            }
        } catch (SQLException e) {
            if (checks.isEmpty()) {
                checks.add(CheckConnections.failed(CONNECTION, "downstream", downstream, e));
            } else {
                checks.add(CheckConnections.queryFailed("downstream catalog", "downstream", e,
                        "grant " + downstream.user() + " read access to the pg_catalog views"));
            }
        }
        return checks;
    }

    /** The checkpoint table exists and is writable, or the role may create it. */
    private void checkpointSchema(Connection sql) throws SQLException {
        String name = "downstream pgrelay schema";
        String role = PublishedTable.display(downstream.user());
        // Catalog lookups by name, not to_regclass: that raises an error without USAGE on the schema.
        try (PreparedStatement statement = sql.prepareStatement("""
                WITH t AS (SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                            WHERE n.nspname = 'pgrelay' AND c.relname = 'checkpoint'),
                     s AS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'pgrelay')
                SELECT EXISTS (SELECT 1 FROM t),
                       (SELECT has_schema_privilege('pgrelay', 'USAGE') AND has_table_privilege(t.oid, 'SELECT, INSERT, UPDATE') FROM t),
                       EXISTS (SELECT 1 FROM s),
                       (SELECT has_schema_privilege('pgrelay', 'USAGE') AND has_schema_privilege('pgrelay', 'CREATE') FROM s),
                       has_database_privilege(current_database(), 'CREATE')
                """); ResultSet rs = statement.executeQuery()) {
            rs.next();
            if (rs.getBoolean(1)) {
                checks.add(rs.getBoolean(2)
                        ? Check.ok(name, "pgrelay.checkpoint exists and is writable")
                        : Check.fail(name, "pgrelay.checkpoint exists but " + downstream.user() + " may not read and write it",
                                "GRANT USAGE ON SCHEMA pgrelay TO " + role + "; GRANT SELECT, INSERT, UPDATE ON pgrelay.checkpoint TO " + role));
            } else if (rs.getBoolean(3)) {
                checks.add(rs.getBoolean(4)
                        ? Check.ok(name, "schema pgrelay exists; run creates pgrelay.checkpoint in it")
                        : Check.fail(name, "schema pgrelay exists but " + downstream.user() + " may not create pgrelay.checkpoint in it",
                                "GRANT USAGE, CREATE ON SCHEMA pgrelay TO " + role));
            } else {
                checks.add(rs.getBoolean(5)
                        ? Check.ok(name, "run creates schema pgrelay with its checkpoint table")
                        : Check.fail(name, downstream.user() + " may not create schema pgrelay (for the checkpoint table)",
                                "GRANT CREATE ON DATABASE " + PublishedTable.display(sql.getCatalog()) + " TO " + role
                                        + ", or CREATE SCHEMA pgrelay AUTHORIZATION " + role));
            }
        }
    }

    private void tables(Connection sql, List<PublishedTable> tables, boolean tablesWillBeCreated) throws SQLException {
        List<Check> missing = new ArrayList<>();
        List<Check> columns = new ArrayList<>();
        List<Check> privileges = new ArrayList<>();
        int created = 0;
        Map<PublishedTable, DownstreamTables.Found> found = DownstreamTables.read(sql, tables, generatedColumns);
        for (PublishedTable table : tables) {
            DownstreamTables.Found target = found.get(table);
            if (target == null) {
                if (tablesWillBeCreated) {
                    created++;
                    creatable(sql, table).ifPresent(missing::add);
                } else {
                    missing.add(Check.fail("downstream table", table.displayName() + " does not exist (the upstream publishes it)",
                            "create it with the upstream's columns (pg_dump --schema-only -t " + table.displayName()
                                    + "), or remove it from the publication"));
                }
                continue;
            }
            compare(table, target.columns(), config.schema().addColumns(), columns);
            privileges(table, target).ifPresent(privileges::add);
        }
        String count = tables.size() + " published table(s)";
        if (missing.isEmpty()) {
            checks.add(Check.ok("downstream tables", created == 0 ? count + " exist"
                    : count + ", " + created + " missing: run creates them from the upstream catalog"));
        }
        ProblemRows.add(checks, missing);
        if (columns.isEmpty()) {
            checks.add(Check.ok("downstream columns", "every upstream column exists downstream with the same type"));
        }
        ProblemRows.add(checks, columns);
        if (privileges.isEmpty()) {
            checks.add(Check.ok("downstream privileges", downstream.user() + " may apply every published operation"));
        }
        ProblemRows.add(checks, privileges);
    }

    /**
     * Every upstream column must exist downstream (apply names it), unless {@code
     * schema.add-columns} adds it when its first change arrives. A different type fails: the
     * relay's drift check stops apply at the table's first change, so starting would only defer
     * the error. A downstream-only NOT NULL column without default makes every published INSERT
     * fail, unless a trigger fills it.
     */
    private static void compare(PublishedTable table, Map<String, DownstreamTables.Column> downstream,
            boolean columnsWillBeAdded, List<Check> problems) {
        for (PublishedTable.Column column : table.columns()) {
            DownstreamTables.Column target = downstream.get(column.name());
            String where = table.displayName() + "." + PublishedTable.display(column.name());
            if (target == null && columnsWillBeAdded) {
                continue;
            } else if (target == null) {
                problems.add(Check.fail("downstream columns", where + " (" + column.type() + ") is missing downstream",
                        "ALTER TABLE " + table.displayName() + " ADD COLUMN " + PublishedTable.display(column.name())
                                + " " + column.type() + "; (on the downstream)"));
            } else if (!target.type().equals(column.type())) {
                problems.add(Check.fail("downstream columns", where + " is " + column.type() + " upstream but "
                        + target.type() + " downstream: apply stops at the table's first change",
                        "ALTER TABLE "
                                + table.displayName() + " ALTER COLUMN " + PublishedTable.display(column.name())
                                + " TYPE " + column.type()));
            }
        }
        if (table.inserts()) {
            List<String> upstreamNames = table.columns().stream().map(PublishedTable.Column::name).toList();
            downstream.forEach((name, column) -> {
                if (column.requiresValue() && !upstreamNames.contains(name)) {
                    String where = table.displayName() + "." + PublishedTable.display(name);
                    // A warning, not a failure: a trigger may fill it, which the catalog does not tell.
                    problems.add(Check.warn("downstream columns", where + " is NOT NULL without a default and the upstream "
                            + "does not send it: every INSERT fails unless a trigger fills it", "ALTER TABLE " + table.displayName()
                            + " ALTER COLUMN " + PublishedTable.display(name) + " SET DEFAULT ... (or DROP NOT NULL)"));
                }
            });
        }
    }

    /**
     * The privileges apply needs for the published operations: UPDATE and DELETE find the row
     * with a WHERE clause (and {@code apply.conflict=upsert} inserts with ON CONFLICT), which
     * PostgreSQL allows only with SELECT.
     */
    private Optional<Check> privileges(PublishedTable table, DownstreamTables.Found target) {
        if (!target.schemaUsage()) {
            return Optional.of(Check.fail("downstream privileges", downstream.user() + " lacks USAGE on schema "
                    + PublishedTable.display(table.schema()) + " of " + table.displayName(), "GRANT USAGE ON SCHEMA "
                    + PublishedTable.display(table.schema()) + " TO " + PublishedTable.display(downstream.user())
                    + "; (on the downstream)"));
        }
        List<String> needed = new ArrayList<>();
        if (table.inserts()) {
            needed.add("INSERT");
        }
        if (table.updates()) {
            needed.add("UPDATE");
        }
        if (table.deletes()) {
            needed.add("DELETE");
        }
        if (table.truncates()) {
            needed.add("TRUNCATE");
        }
        if (table.updates() || table.deletes() || config.conflictPolicy() == ConflictPolicy.UPSERT) {
            needed.add("SELECT");
        }
        needed.removeAll(target.privileges());
        if (needed.isEmpty()) {
            return Optional.empty();
        }
        String lacking = String.join(", ", needed);
        return Optional.of(Check.fail("downstream privileges", downstream.user() + " lacks " + lacking + " on "
                + table.displayName(), "GRANT " + lacking + " ON " + table.displayName() + " TO "
                + PublishedTable.display(downstream.user()) + "; (on the downstream)"));
    }

    /** A table run will create: the role needs CREATE on its schema (or on the database, when the schema is missing too). */
    private Optional<Check> creatable(Connection sql, PublishedTable table) throws SQLException {
        try (PreparedStatement statement = sql.prepareStatement("""
                SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = ?)
                            THEN has_schema_privilege(?, 'CREATE')
                            ELSE has_database_privilege(current_database(), 'CREATE') END
                """)) {
            statement.setString(1, table.schema());
            statement.setString(2, table.schema()); // a plain name here, not an identifier to parse
            try (ResultSet rs = statement.executeQuery()) {
                if (rs.next() && rs.getBoolean(1)) {
                    return Optional.empty();
                }
            }
        }
        return Optional.of(Check.fail("downstream tables", table.displayName() + " does not exist and "
                + downstream.user() + " may not create it", "GRANT CREATE ON SCHEMA " + PublishedTable.display(table.schema())
                + " TO " + PublishedTable.display(downstream.user()) + "; (on the downstream)"));
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
