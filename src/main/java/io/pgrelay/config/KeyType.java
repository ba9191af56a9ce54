package io.pgrelay.config;

/** The kind of value a configuration key holds; decides how it is parsed and documented. */
public enum KeyType {
    STRING("string"),
    /** Never logged nor echoed in a message. */
    SECRET("secret"),
    JDBC_URL("JDBC URL"),
    SLOT_NAME("slot name"),
    NAME_LIST("comma-separated names"),
    INT("integer"),
    /** {@code 500ms}, {@code 10s}, {@code 2m}, {@code 1h}, or a bare number of seconds. */
    DURATION("duration"),
    BOOLEAN("true|false"),
    CONFLICT_POLICY("error|skip|upsert"),
    HOST_PORT("host:port"),
    /** Bytes: a whole number, or with a unit kB, MB, GB, TB (powers of 1024, as PostgreSQL). */
    SIZE("size"),
    /** {@code scram} or {@code trust}. */
    FEED_AUTH("scram|trust"),
    PATH("path");

    private final String label;

    KeyType(String label) {
        this.label = label;
    }

    /** How the type reads in the configuration reference. */
    public String label() {
        return label;
    }
}
