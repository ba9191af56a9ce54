package io.pgrelay.sql;

/**
 * Quoting for SQL that pgrelay generates. Identifiers are always quoted: upstream names may be
 * mixed-case, unicode or keywords. Values travel as parameters; {@link #literal} is only for DDL,
 * where PostgreSQL takes no parameters.
 */
public final class Identifiers {
    private Identifiers() {}

    public static String quote(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    public static String qualified(String schema, String name) {
        return quote(schema) + "." + quote(name);
    }

    public static String literal(String text) {
        return "'" + text.replace("'", "''") + "'";
    }
}
