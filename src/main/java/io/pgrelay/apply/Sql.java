package io.pgrelay.apply;

/** SQL text helpers. Identifiers are always quoted: upstream names may be mixed-case, unicode or keywords. */
final class Sql {
    private Sql() {}

    static String quoteIdentifier(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    static String qualified(String namespace, String name) {
        return quoteIdentifier(namespace) + "." + quoteIdentifier(name);
    }
}
