package io.pgrelay.checkpoint;

import java.sql.SQLException;

/** The stored checkpoint is ahead of ours: someone else applies under our name. Permanent. */
public final class CheckpointConflictException extends SQLException {
    private static final long serialVersionUID = 1L;

    public CheckpointConflictException(String message) {
        super(message, "55000");
    }
}
