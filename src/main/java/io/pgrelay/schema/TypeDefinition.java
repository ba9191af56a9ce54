package io.pgrelay.schema;

import io.pgrelay.sql.Identifiers;
import java.util.List;

/** A user type that a source table's columns use, in a form the downstream can create. */
sealed interface TypeDefinition {

    /** The schema the type (or extension) lives in, created first when missing. */
    String schema();

    /** What the log calls it: {@code type public.mood}, {@code extension citext}. */
    String label();

    /** The statement creating it on the downstream. */
    String createSql();

    /** A user type proper, named in its schema. */
    sealed interface Named extends TypeDefinition {
        TableName name();

        @Override
        default String schema() {
            return name().schema();
        }

        @Override
        default String label() {
            return "type " + name();
        }
    }

    record Enum(TableName name, List<String> labels) implements Named {
        public Enum {
            labels = List.copyOf(labels);
        }

        @Override
        public String createSql() {
            return "CREATE TYPE " + name.quoted() + " AS ENUM ("
                    + String.join(", ", labels.stream().map(Identifiers::literal).toList()) + ")";
        }
    }

    /** @param constraints {@code CONSTRAINT "x" CHECK (...)} clauses */
    record Domain(TableName name, String baseType, String collation, String defaultSql, boolean notNull,
                  List<String> constraints) implements Named {
        public Domain {
            constraints = List.copyOf(constraints);
        }

        @Override
        public String createSql() {
            return "CREATE DOMAIN " + name.quoted() + " AS " + baseType
                    + (collation == null ? "" : " COLLATE " + collation)
                    + (defaultSql == null ? "" : " DEFAULT " + defaultSql)
                    + (notNull ? " NOT NULL" : "")
                    + (constraints.isEmpty() ? "" : " " + String.join(" ", constraints));
        }
    }

    /** @param attributes {@code "name" type} clauses */
    record Composite(TableName name, List<String> attributes) implements Named {
        public Composite {
            attributes = List.copyOf(attributes);
        }

        @Override
        public String createSql() {
            return "CREATE TYPE " + name.quoted() + " AS (" + String.join(", ", attributes) + ")";
        }
    }

    /** @param options {@code SUBTYPE = ...} and friends */
    record Range(TableName name, List<String> options) implements Named {
        public Range {
            options = List.copyOf(options);
        }

        @Override
        public String createSql() {
            return "CREATE TYPE " + name.quoted() + " AS RANGE (" + String.join(", ", options) + ")";
        }
    }

    /** A type that belongs to an extension: the downstream gets the extension, not the type. */
    record Extension(String extension, String schema) implements TypeDefinition {
        @Override
        public String label() {
            return "extension " + extension;
        }

        @Override
        public String createSql() {
            return "CREATE EXTENSION IF NOT EXISTS " + Identifiers.quote(extension) + " WITH SCHEMA " + Identifiers.quote(schema);
        }
    }
}
