package io.pgrelay.embedded;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * A PostgreSQL server from the binaries shipped inside pgrelay ({@link PostgresBinaries}), ready
 * for logical replication, for demos and tests on a machine with no PostgreSQL installed.
 *
 * <pre>{@code
 * try (EmbeddedPostgres pg = EmbeddedPostgres.builder("root").start()) {
 *     pg.execute("postgres", "CREATE DATABASE app");
 *     try (Connection c = pg.connect("app")) { ... }
 * }
 * }</pre>
 *
 * <p>It listens on a free port on 127.0.0.1 only and admits the superuser {@value #SUPERUSER}
 * with {@link #password()} (scram-sha-256), replication connections included. When this JVM is
 * root, the server runs as {@code postgres} or {@code nobody} ({@link ServerUser}).
 * {@link #close()} stops it and deletes its files; {@link #detach()} leaves it running.
 */
public final class EmbeddedPostgres implements AutoCloseable {

    public static final String SUPERUSER = "postgres";
    private static final int CONNECT_TIMEOUT_SECONDS = 10;

    private final String name;
    private final PostgresServer server;
    private final String password;
    private boolean closed;

    private EmbeddedPostgres(String name, PostgresServer server, String password) {
        this.name = name;
        this.server = server;
        this.password = password;
    }

    public static Builder builder(String name) {
        return new Builder(name);
    }

    /** Settings of a server to be started. */
    public static final class Builder {

        private final String name;
        private final Map<String, String> settings = new LinkedHashMap<>();
        private Path parent;

        private Builder(String name) {
            this.name = name;
            settings.put("wal_level", "logical");
            settings.put("max_wal_senders", "10");
            settings.put("max_replication_slots", "10");
            settings.put("max_connections", "50");
            settings.put("shared_buffers", "32MB");
            settings.put("logging_collector", "off");
        }

        /** Any postgresql.conf setting; overrides the defaults. */
        public Builder setting(String name, String value) {
            settings.put(name, value);
            return this;
        }

        /**
         * The directory to create the server's work directory in (named after the server); by
         * default a new directory under /tmp. When this JVM is root it must be reachable for the
         * server's account. Keep the path short: the unix socket lives there.
         */
        public Builder parent(Path parent) {
            this.parent = parent;
            return this;
        }

        /** Unpacks the binaries if needed, runs initdb, starts the server; the caller must close it. */
        public EmbeddedPostgres start() {
            Path binDir = PostgresBinaries.prepare(PostgresBinaries.defaultCacheRoots(), ServerUser.current()).binDir();
            String password = newPassword();
            PostgresServer server = PostgresServer.initdb(name, binDir, parent, settings, SUPERUSER, password);
            try {
                server.start();
            } catch (RuntimeException e) {
                server.destroy(false);
                throw e;
            }
            return new EmbeddedPostgres(name, server, password);
        }

        private static String newPassword() {
            byte[] bytes = new byte[18];
            new SecureRandom().nextBytes(bytes);
            return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
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
        return password;
    }

    /** {@code jdbc:postgresql://127.0.0.1:PORT/DATABASE}, without credentials. */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://" + host() + ":" + port() + "/" + database;
    }

    /** A psql command line that connects to {@code database} (psql comes with PostgreSQL's client package). */
    public String psqlCommand(String database) {
        return "psql \"postgresql://" + SUPERUSER + ":" + password + "@" + host() + ":" + port() + "/" + database + "\"";
    }

    /** The shell command that stops this server once it was {@link #detach() detached}. */
    public String stopCommand() {
        return server.stopCommand();
    }

    /** The server's files: data directory, socket, log. */
    public Path workDir() {
        return server.workDir();
    }

    /** A new superuser connection over TCP with password authentication. */
    public Connection connect(String database) throws SQLException {
        Properties properties = new Properties();
        properties.setProperty("user", SUPERUSER);
        properties.setProperty("password", password);
        properties.setProperty("connectTimeout", Integer.toString(CONNECT_TIMEOUT_SECONDS));
        properties.setProperty("loginTimeout", Integer.toString(CONNECT_TIMEOUT_SECONDS));
        properties.setProperty("ApplicationName", "pgrelay-embedded");
        return DriverManager.getConnection(jdbcUrl(database), properties);
    }

    /** Runs each statement in autocommit mode, in order. */
    public void execute(String database, List<String> statements) throws SQLException {
        try (Connection connection = connect(database); Statement statement = connection.createStatement()) {
            for (String sql : statements) {
                statement.execute(sql);
            }
        }
    }

    /** The last lines of the server log. */
    public String logTail() {
        return server.logTail();
    }

    /** Leaves the server running after this JVM exits; {@link #close()} then does nothing. */
    public synchronized void detach() {
        if (!closed) {
            closed = true;
            server.detach();
        }
    }

    /** Stops the server (fast, then immediate) and deletes its files. Safe to call twice. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            server.destroy(true);
        }
    }

    /** For a shutdown hook: no time for a clean shutdown. */
    public synchronized void abandon() {
        if (!closed) {
            closed = true;
            server.destroy(false);
        }
    }

    @Override
    public String toString() {
        return "EmbeddedPostgres[" + name + ", " + host() + ":" + port() + (closed ? ", closed" : "") + "]";
    }
}
