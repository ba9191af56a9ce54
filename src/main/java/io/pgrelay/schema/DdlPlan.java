package io.pgrelay.schema;

import io.pgrelay.sql.Identifiers;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.StringJoiner;

/**
 * The statements that give the downstream what it lacks, in an order that works: schemas and
 * extensions, types (each after those it uses), sequences, tables, then their replica identity
 * indexes and sequence ownership. Objects the downstream already has are left out and never
 * altered: an existing table is trusted as it is (drift is checked while streaming).
 */
final class DdlPlan {

    /** One statement and the object it creates, for the log. */
    record Step(String object, String sql) {}

    private final List<Step> steps = new ArrayList<>();
    private final Set<String> schemas = new HashSet<>();

    private DdlPlan() {
    }

    static DdlPlan of(SourceSchema source, TargetCatalog target) throws SQLException {
        DdlPlan plan = new DdlPlan();
        plan.schemas(source, target);
        for (TypeDefinition type : source.types()) {
            plan.type(type, target);
        }
        List<TableDefinition> newTables = new ArrayList<>();
        for (TableDefinition table : source.tables()) {
            if (!target.hasRelation(table.name())) {
                newTables.add(table);
            }
        }
        List<SequenceDefinition> newSequences = new ArrayList<>();
        for (SequenceDefinition sequence : source.sequences()) {
            if (!target.hasRelation(sequence.name())) {
                newSequences.add(sequence);
                plan.add("sequence " + sequence.name(), createSequence(sequence));
            }
        }
        for (TableDefinition table : newTables) {
            plan.add("table " + table.name(), createTable(table));
        }
        for (TableDefinition table : newTables) {
            plan.identity(table);
        }
        for (SequenceDefinition sequence : newSequences) {
            if (newTables.stream().anyMatch(table -> table.name().equals(sequence.owner()))) {
                plan.add("ownership of sequence " + sequence.name(), "ALTER SEQUENCE " + sequence.name().quoted()
                        + " OWNED BY " + sequence.owner().quoted() + "." + Identifiers.quote(sequence.ownerColumn()));
            }
        }
        return plan;
    }

    List<Step> steps() {
        return List.copyOf(steps);
    }

    boolean isEmpty() {
        return steps.isEmpty();
    }

    private void add(String object, String sql) {
        steps.add(new Step(object, sql));
    }

    private void schemas(SourceSchema source, TargetCatalog target) throws SQLException {
        List<String> needed = new ArrayList<>();
        source.types().forEach(type -> needed.add(type.schema()));
        source.sequences().forEach(sequence -> needed.add(sequence.name().schema()));
        source.tables().forEach(table -> needed.add(table.name().schema()));
        for (String schema : needed) {
            if (schemas.add(schema) && !target.hasSchema(schema)) {
                add("schema " + schema, "CREATE SCHEMA " + Identifiers.quote(schema));
            }
        }
    }

    private void type(TypeDefinition type, TargetCatalog target) throws SQLException {
        boolean exists = type instanceof TypeDefinition.Named named
                ? target.hasType(named.name())
                : target.hasExtension(((TypeDefinition.Extension) type).extension());
        if (!exists) {
            add(type.label(), type.createSql());
        }
    }

    static String createSequence(SequenceDefinition s) {
        return "CREATE SEQUENCE " + s.name().quoted() + " AS " + s.dataType() + " INCREMENT BY " + s.increment()
                + " MINVALUE " + s.min() + " MAXVALUE " + s.max() + " START WITH " + s.start()
                + " CACHE " + s.cache() + (s.cycle() ? " CYCLE" : " NO CYCLE");
    }

    static String createTable(TableDefinition table) {
        StringJoiner parts = new StringJoiner(",\n    ", "CREATE TABLE " + table.name().quoted() + " (\n    ", "\n)");
        for (TableDefinition.Column column : table.columns()) {
            parts.add(column(column));
        }
        if (table.primaryKey() != null) {
            parts.add(table.primaryKey());
        }
        return parts.toString();
    }

    private static String column(TableDefinition.Column column) {
        StringBuilder sql = new StringBuilder(Identifiers.quote(column.name())).append(' ').append(column.type());
        if (column.collation() != null) {
            sql.append(" COLLATE ").append(column.collation());
        }
        if (column.generated() != null) {
            sql.append(" GENERATED ALWAYS AS (").append(column.generated()).append(") STORED");
        } else if (column.defaultSql() != null) {
            sql.append(" DEFAULT ").append(column.defaultSql());
        }
        if (column.notNull()) {
            sql.append(" NOT NULL");
        }
        return sql.toString();
    }

    private void identity(TableDefinition table) {
        if (table.identityIndex() != null) {
            add("replica identity index of " + table.name(), table.identityIndex());
        }
        if (table.replicaIdentity() != null) {
            add("replica identity of " + table.name(), "ALTER TABLE " + table.name().quoted() + " REPLICA IDENTITY "
                    + table.replicaIdentity());
        }
    }
}
