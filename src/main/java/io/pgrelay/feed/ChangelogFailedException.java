package io.pgrelay.feed;

import java.io.IOException;

/**
 * The changelog refused writes after an I/O error (disk full, EIO). Permanent for this process:
 * the relay exits, and a restart reopens the changelog, whose recovery repairs the tail.
 */
public final class ChangelogFailedException extends IOException {
    private static final long serialVersionUID = 1L;

    public ChangelogFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
