package io.pgrelay.embedded;

import java.util.Map;

/** Renders server settings in postgresql.conf syntax. */
final class PostgresConf {

    private PostgresConf() {
    }

    static String render(String header, Map<String, String> settings) {
        StringBuilder conf = new StringBuilder("# ").append(header).append('\n');
        settings.forEach((name, value) -> conf.append(name).append(" = ").append(quote(value)).append('\n'));
        return conf.toString();
    }

    /** Every value quoted: PostgreSQL accepts quoted numbers and booleans, and paths need it. */
    static String quote(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'";
    }
}
