package io.pgrelay.config;

/**
 * A value that must never reach a log line: {@link #toString()} masks it, and the
 * only way to read it is the deliberately loud {@link #reveal()}.
 */
public final class Secret {
    private static final Secret NONE = new Secret("");
    private final String value;

    private Secret(String value) {
        this.value = value;
    }

    public static Secret of(String value) {
        return value == null || value.isEmpty() ? NONE : new Secret(value);
    }

    public static Secret none() {
        return NONE;
    }

    public boolean isEmpty() {
        return value.isEmpty();
    }

    /** The clear text, for handing to a driver. Never log the result. */
    public String reveal() {
        return value;
    }

    @Override
    public String toString() {
        return value.isEmpty() ? "" : "*****";
    }
}
