package io.pgrelay.it;

/** A test PostgreSQL server could not be prepared, started or stopped. */
public final class PgClusterException extends RuntimeException {

    PgClusterException(String message) {
        super(message);
    }

    PgClusterException(String message, Throwable cause) {
        super(message, cause);
    }
}
