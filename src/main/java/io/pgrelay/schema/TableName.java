package io.pgrelay.schema;

import io.pgrelay.sql.Identifiers;

/** A schema-qualified table (or sequence) name, exactly as the catalog spells it. */
public record TableName(String schema, String name) {

    /** The name quoted for SQL: {@code "schema"."name"}. */
    public String quoted() {
        return Identifiers.qualified(schema, name);
    }

    /** The name as an operator reads it, unquoted: {@code schema.name}. */
    @Override
    public String toString() {
        return schema + "." + name;
    }
}
