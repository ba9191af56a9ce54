package io.pgrelay.changelog;

import java.io.IOException;

/** The {@link Changelog} (or the reader) was closed; readers waiting for data get this. */
public final class ChangelogClosedException extends IOException {

    private static final long serialVersionUID = 1L;

    ChangelogClosedException(String message) {
        super(message);
    }
}
