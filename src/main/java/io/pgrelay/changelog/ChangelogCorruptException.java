package io.pgrelay.changelog;

import java.io.IOException;

/**
 * The changelog's files are damaged where they should be intact (not a torn tail, which
 * recovery repairs): a bad segment header, a missing segment, a bad record in durable data.
 */
public final class ChangelogCorruptException extends IOException {

    private static final long serialVersionUID = 1L;

    ChangelogCorruptException(String message) {
        super(message);
    }
}
