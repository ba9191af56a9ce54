package io.pgrelay.it;

import java.nio.file.Path;

/** One PostgreSQL server process behind a {@link PgCluster}, however it is hosted. */
interface PgServer {

    /** Starts the server and returns once it accepts connections. */
    void start();

    /** Shuts down cleanly (fast mode: open sessions are disconnected, everything is checkpointed). */
    void stop();

    /** Kills the server without a checkpoint, so the next start has to run crash recovery. */
    void crash();

    /**
     * Stops the server however it can and removes everything it stored. Never throws.
     *
     * @param graceful try a short fast shutdown before killing; false goes straight to the kill
     */
    void destroy(boolean graceful);

    String host();

    int port();

    /** The bin directory of the binaries in use, or null when they are inside a container. */
    Path binDir();

    /** The directory holding all files of this server on this machine, or null for a container. */
    Path workDir();

    /** The last lines the server logged, for failure messages. */
    String logTail();
}
