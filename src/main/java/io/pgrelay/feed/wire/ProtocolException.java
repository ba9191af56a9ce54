package io.pgrelay.feed.wire;

/**
 * A client broke the frontend/backend protocol. Ends that client's session (with an
 * ErrorResponse when one can still be sent); never affects other sessions.
 */
public final class ProtocolException extends Exception {
    private static final long serialVersionUID = 1L;

    private final String sqlState;

    public ProtocolException(String sqlState, String message) {
        super(message);
        this.sqlState = sqlState;
    }

    public String sqlState() {
        return sqlState;
    }
}
