package io.pgrelay.cli;

/** Process exit codes; the README lists them. */
public final class ExitCode {
    /** Clean stop (SIGTERM/SIGINT), or a command that succeeded. */
    public static final int OK = 0;
    /**
     * Runtime failure that needs an operator: the message says what to fix. {@code run}: the relay
     * stopped at its last checkpoint. {@code slot}: the slot already exists, does not exist or is
     * active, the running relay's feed does not answer or refuses the login, or data.dir cannot be read.
     */
    public static final int FAILURE = 1;
    /** Usage or configuration error (for {@code slot} also an invalid slot name, no feed, no data.dir): nothing was started or changed. */
    public static final int USAGE = 2;
    /**
     * {@code check}: at least one check failed (each FAIL row names its fix). {@code run}: the
     * preflight found such a failure and the relay did not start; nothing was changed.
     */
    public static final int CHECK_FAILED = 3;

    private ExitCode() {}
}
