package io.pgrelay.feed;

import java.io.IOException;

/** Another pgrelay process holds {@code data.dir}. */
public final class DataDirInUseException extends IOException {
    private static final long serialVersionUID = 1L;

    public DataDirInUseException(String message) {
        super(message);
    }
}
