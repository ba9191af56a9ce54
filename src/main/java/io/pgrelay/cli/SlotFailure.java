package io.pgrelay.cli;

/** A slot command cannot do what it was asked: one line for the operator, and the exit code. */
final class SlotFailure extends Exception {
    private static final long serialVersionUID = 1L;

    private final int exitCode;

    SlotFailure(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    /** A runtime failure ({@link ExitCode#FAILURE}). */
    static SlotFailure failure(String message) {
        return new SlotFailure(ExitCode.FAILURE, message);
    }

    /** A usage or configuration error ({@link ExitCode#USAGE}): nothing was done. */
    static SlotFailure usage(String message) {
        return new SlotFailure(ExitCode.USAGE, message);
    }

    static SlotFailure exists(String name) {
        return failure("feed slot \"" + name + "\" already exists");
    }

    static SlotFailure missing(String name) {
        return failure("feed slot \"" + name + "\" does not exist");
    }

    int exitCode() {
        return exitCode;
    }
}
