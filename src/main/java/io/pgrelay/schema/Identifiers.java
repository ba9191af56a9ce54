package io.pgrelay.schema;

/** Quoting for generated DDL: identifiers are always quoted, literals always escaped. */
final class Identifiers {
    private Identifiers() {}

    static String quote(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    static String qualified(String schema, String name) {
        return quote(schema) + "." + quote(name);
    }

    static String literal(String text) {
        return "'" + text.replace("'", "''") + "'";
    }
}
