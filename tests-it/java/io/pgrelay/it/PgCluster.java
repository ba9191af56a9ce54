package io.pgrelay.it;

import io.pgrelay.embedded.ServerUser;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * A real PostgreSQL server for one integration test, configured for logical replication.
 *
 * <pre>{@code
 * try (PgCluster pg = PgCluster.builder("upstream").setting("max_wal_senders", "30").start()) {
 *     pg.createDatabase("app");
 *     pg.execute("app", "CREATE TABLE t (id int PRIMARY KEY)");
 *     List<List<String>> rows = pg.query("app", "SELECT id FROM t");
 * }
 * }</pre>
 *
 * <p>Where the server comes from is decided by {@link PgBackend}: a Docker container when Docker
 * is reachable, otherwise PostgreSQL binaries shipped as a Maven dependency. It listens on a
 * free port on 127.0.0.1 only and accepts the superuser {@value #SUPERUSER} with
 * {@link #password()} over TCP (scram-sha-256), including replication connections.
 * {@link #close()} stops it and deletes its data; a JVM shutdown hook does the same for clusters a
 * test did not close.
 */
public final class PgCluster implements AutoCloseable {

    public static final String SUPERUSER = "postgres";
    /** A fixed, well-known test value; these servers only listen on loopback. */
    private static final String PASSWORD = "pgrelay-test-pw";
    private static final int CONNECT_TIMEOUT_SECONDS = 10;

    private final String name;
    private final PgBackend backend;
    private final PgServer server;
    private boolean running;
    private boolean closed;

    private PgCluster(String name, PgBackend backend, PgServer server) {
        this.name = name;
        this.backend = backend;
        this.server = server;
    }

    /** @param name shows up in directory names and messages, e.g. "upstream" or "downstream" */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    /** Settings for a cluster to be started. */
    public static final class Builder {

        private final String name;
        private final Map<String, String> settings = new LinkedHashMap<>();

        private Builder(String name) {
            this.name = name;
            settings.put("wal_level", "logical");
            settings.put("max_wal_senders", "20");
            settings.put("max_replication_slots", "20");
            settings.put("max_connections", "100");
            settings.put("shared_buffers", "32MB");
            // Tests crash servers on purpose; fsync=off keeps them fast and crash recovery still
            // works, because the OS (which does not crash) still has every write.
            settings.put("fsync", "off");
            settings.put("logging_collector", "off");
        }

        /** Any postgresql.conf setting; overrides the defaults above. */
        public Builder setting(String name, String value) {
            settings.put(name, value);
            return this;
        }

        /** fsync is off unless a test needs real durability, e.g. to measure commit latency. */
        public Builder fsync(boolean on) {
            return setting("fsync", on ? "on" : "off");
        }

        /** Creates the cluster and starts it; the caller must close it. */
        public PgCluster start() {
            PgBackend backend = PgBackend.chosen();
            PgServer server = switch (backend) {
                case DOCKER -> new DockerPgServer(settings, SUPERUSER, PASSWORD);
                case EMBEDDED -> BinaryPgServer.initdb(name, EmbeddedPgBinaries.binDir(ServerUser.current()),
                        settings, SUPERUSER, PASSWORD);
                case LOCAL -> BinaryPgServer.initdb(name, LocalPgBinaries.binDir(), settings, SUPERUSER, PASSWORD);
            };
            PgCluster cluster = new PgCluster(name, backend, server);
            LeakedClusterReaper.track(cluster);
            try {
                cluster.start();
            } catch (RuntimeException e) {
                cluster.close();
                throw e;
            }
            return cluster;
        }
    }

    public String name() {
        return name;
    }

    public String host() {
        return server.host();
    }

    public int port() {
        return server.port();
    }

    public String user() {
        return SUPERUSER;
    }

    public String password() {
        return PASSWORD;
    }

    /** {@code jdbc:postgresql://127.0.0.1:PORT/DATABASE}, without credentials. */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://" + host() + ":" + port() + "/" + database;
    }

    /** A new superuser connection over TCP with password authentication. */
    public Connection connect(String database) throws SQLException {
        Properties properties = new Properties();
        properties.setProperty("user", SUPERUSER);
        properties.setProperty("password", PASSWORD);
        properties.setProperty("connectTimeout", Integer.toString(CONNECT_TIMEOUT_SECONDS));
        properties.setProperty("loginTimeout", Integer.toString(CONNECT_TIMEOUT_SECONDS));
        properties.setProperty("ApplicationName", "pgrelay-it-fixture");
        return DriverManager.getConnection(jdbcUrl(database), properties);
    }

    /** Creates a database; the name is quoted, so it is used exactly as given. */
    public void createDatabase(String database) throws SQLException {
        execute("postgres", "CREATE DATABASE \"" + database.replace("\"", "\"\"") + "\"");
    }

    /** Runs each statement in autocommit mode, in order. */
    public void execute(String database, String... statements) throws SQLException {
        try (Connection connection = connect(database); Statement statement = connection.createStatement()) {
            for (String sql : statements) {
                statement.execute(sql);
            }
        }
    }

    /** All rows of a query, each value as PostgreSQL's text form (null for NULL). */
    public List<List<String>> query(String database, String sql) throws SQLException {
        try (Connection connection = connect(database);
             Statement statement = connection.createStatement();
             ResultSet resultSet = statement.executeQuery(sql)) {
            int columns = resultSet.getMetaData().getColumnCount();
            List<List<String>> rows = new ArrayList<>();
            while (resultSet.next()) {
                List<String> row = new ArrayList<>(columns);
                for (int column = 1; column <= columns; column++) {
                    row.add(resultSet.getString(column));
                }
                rows.add(row);
            }
            return rows;
        }
    }

    /** Starts a stopped or crashed server on the same port; throws with the server log on failure. */
    public synchronized void start() {
        requireOpen();
        if (running) {
            throw new IllegalStateException(this + " is already running");
        }
        server.start();
        running = true;
    }

    /** Clean (fast) shutdown. */
    public synchronized void stop() {
        requireOpen();
        if (running) {
            server.stop();
            running = false;
        }
    }

    public synchronized void restart() {
        stop();
        start();
    }

    /** Immediate shutdown: no checkpoint, clients cut off, the next start runs crash recovery. */
    public synchronized void crash() {
        requireOpen();
        if (running) {
            server.crash();
            running = false;
        }
    }

    public synchronized boolean isRunning() {
        return running;
    }

    /** The bin directory of the PostgreSQL in use, or null when it runs in a container. */
    public Path binDir() {
        return server.binDir();
    }

    /** The last lines of the server log, handy in assertion messages. */
    public String serverLogTail() {
        return server.logTail();
    }

    /** Where this cluster keeps its files, or null for a container; deleted by {@link #close()}. */
    Path workDir() {
        return server.workDir();
    }

    /** Stops the server (fast, then immediate) and deletes its data. Safe to call twice. */
    @Override
    public synchronized void close() {
        shutDown(true);
    }

    /** For the shutdown hook: no time for a clean shutdown. */
    synchronized void abandon() {
        shutDown(false);
    }

    private void shutDown(boolean graceful) {
        if (closed) {
            return;
        }
        closed = true;
        running = false;
        server.destroy(graceful);
        LeakedClusterReaper.untrack(this);
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
    }

    @Override
    public String toString() {
        return "PgCluster[" + name + ", " + backend.label() + ", " + host() + ":" + port()
                + (closed ? ", closed" : running ? ", running" : ", stopped") + "]";
    }
}
