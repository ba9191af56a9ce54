package io.pgrelay.relay;

/** A session ended with an error on one side. The supervisor decides: retry or stop. */
final class SessionFailure extends Exception {
    private static final long serialVersionUID = 1L;

    private final Side side;

    SessionFailure(Side side, Throwable cause) {
        super(cause.getMessage(), cause);
        this.side = side;
    }

    Side side() {
        return side;
    }
}
