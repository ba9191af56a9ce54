package io.pgrelay.sync;

/**
 * The initial sync cannot go on until an operator acts (a downstream table missing or holding
 * rows, no snapshot to copy under): the relay stops, its message says what to do. Errors that
 * waiting can fix stay {@link java.sql.SQLException}s and are retried.
 */
public final class SyncException extends Exception {
    private static final long serialVersionUID = 1L;

    public SyncException(String message) {
        super(message);
    }
}
