package io.pgrelay.it;

import io.pgrelay.embedded.EmbeddedPostgresException;
import io.pgrelay.embedded.PostgresServer;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A server run straight from PostgreSQL binaries: the main code's {@link PostgresServer}
 * (initdb into a private directory under /tmp, pg_ctl to start and stop, run as an unprivileged
 * account under root, an orphan guard), with its failures reported as {@link PgClusterException}.
 */
final class BinaryPgServer implements PgServer {

    private final PostgresServer server;

    private BinaryPgServer(PostgresServer server) {
        this.server = server;
    }

    /**
     * Creates a new, not yet started cluster.
     *
     * @param settings postgresql.conf settings; port and socket settings are added
     */
    static BinaryPgServer initdb(String name, Path binDir, Map<String, String> settings,
                                 String superuser, String password) {
        return new BinaryPgServer(reported(() -> PostgresServer.initdb(name, binDir, null, settings, superuser, password)));
    }

    /** Runs {@code action}, turning the main code's exception into the fixture's, same message. */
    static <T> T reported(Supplier<T> action) {
        try {
            return action.get();
        } catch (EmbeddedPostgresException e) {
            throw new PgClusterException(e.getMessage(), e);
        }
    }

    private static void reported(Runnable action) {
        reported(() -> {
            action.run();
            return null;
        });
    }

    @Override
    public void start() {
        reported(server::start);
    }

    /**
     * A fast stop waits for every walsender's client to confirm what it was sent: when it does
     * not finish, the stacks of the in-process relays say why.
     */
    @Override
    public void stop() {
        try {
            reported(server::stop);
        } catch (PgClusterException e) {
            throw new PgClusterException(e.getMessage() + "\n--- relay threads in this JVM ---\n" + ThreadDump.relayThreads(), e);
        }
    }

    @Override
    public void crash() {
        reported(server::crash);
    }

    @Override
    public void destroy(boolean graceful) {
        server.destroy(graceful);
    }

    @Override
    public String host() {
        return server.host();
    }

    @Override
    public int port() {
        return server.port();
    }

    @Override
    public Path binDir() {
        return server.binDir();
    }

    @Override
    public Path workDir() {
        return server.workDir();
    }

    @Override
    public String logTail() {
        return server.logTail();
    }
}
