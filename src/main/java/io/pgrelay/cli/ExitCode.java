package io.pgrelay.cli;

/** Process exit codes; the README lists them. */
public final class ExitCode {
    /** Clean stop (SIGTERM/SIGINT), or a command that succeeded. */
    public static final int OK = 0;
    /** Runtime failure that needs an operator: the message says what to fix. The relay stopped at its last checkpoint. */
    public static final int FAILURE = 1;
    /** Usage or configuration error: nothing was started. */
    public static final int USAGE = 2;

    private ExitCode() {}
}
