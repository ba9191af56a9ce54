package io.pgrelay.embedded;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A server run straight from PostgreSQL binaries: initdb into a private work directory, then
 * pg_ctl to start and stop it. The work directory holds the data directory and the unix socket,
 * and is removed by {@link #destroy(boolean)}.
 *
 * <p>The server listens on 127.0.0.1 only, on a free port picked at the first start and kept
 * for later starts, and admits the superuser with a password over TCP (scram-sha-256),
 * replication connections included. When this JVM is root the server runs as the
 * {@link ServerUser}. A guard process stops the server if this JVM dies without stopping it.
 *
 * <p>Not thread-safe: one owner calls start, stop and destroy.
 */
public final class PostgresServer {

    public static final String HOST = "127.0.0.1";
    /** pg_ctl's own bound; commands get a little more so pg_ctl reports the timeout itself. */
    private static final int PG_CTL_WAIT_SECONDS = 60;
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(PG_CTL_WAIT_SECONDS + 30);
    private static final int DESTROY_GRACE_SECONDS = 10;
    private static final Duration INITDB_TIMEOUT = Duration.ofMinutes(2);
    private static final int START_ATTEMPTS = 3;
    private static final String SETTINGS_FILE = "pgrelay.conf";
    private static final String LOG_FILE = "postgresql.log";
    private static final Pattern REPLICATION_HBA_LINE =
            Pattern.compile("(?m)^\\s*host\\s+replication\\s+all\\s+127\\.0\\.0\\.1/32\\s+scram-sha-256\\s*$");
    private static final Pattern PORT_TAKEN = Pattern.compile("could not bind|Address already in use");

    private final ServerUser user;
    private final Path binDir;
    private final Path workDir;
    private final Path dataDir;
    private final Map<String, String> settings;
    private volatile int port;
    private boolean everStarted;
    private OrphanGuard orphanGuard;

    private PostgresServer(ServerUser user, Path binDir, Path workDir, Map<String, String> settings) {
        this.user = user;
        this.binDir = binDir;
        this.workDir = workDir;
        this.dataDir = workDir.resolve("data");
        this.settings = settings;
    }

    /**
     * Creates a new, not yet started cluster.
     *
     * @param name     names the work directory (letters, digits, - and _ are kept)
     * @param parent   directory to create the work directory in; null: a new temp directory under /tmp.
     *                 The unix socket lives in the work directory, so its path must stay short
     *                 (sockaddr_un holds about 107 bytes)
     * @param settings postgresql.conf settings; listen address, port and socket directory are added
     */
    public static PostgresServer initdb(String name, Path binDir, Path parent, Map<String, String> settings,
                                        String superuser, String password) {
        ServerUser user = ServerUser.current();
        Path workDir = createWorkDir(name, parent, user);
        PostgresServer server = new PostgresServer(user, binDir, workDir, new LinkedHashMap<>(settings));
        try {
            server.runInitdb(superuser, password);
            server.allowReplicationOverTcp();
            server.includeSettingsFile();
            return server;
        } catch (RuntimeException | IOException e) {
            server.destroy(false);
            throw e instanceof EmbeddedPostgresException pe ? pe
                    : new EmbeddedPostgresException("cannot create a PostgreSQL cluster in " + workDir + ": " + e, e);
        }
    }

    /** Directly under /tmp rather than java.io.tmpdir when no parent is given: see {@link #initdb}. */
    private static Path createWorkDir(String name, Path parent, ServerUser user) {
        String safeName = name.replaceAll("[^A-Za-z0-9_-]", "");
        String prefix = "pgrelay-" + safeName.substring(0, Math.min(safeName.length(), 16)) + "-";
        try {
            Path workDir;
            if (parent != null) {
                workDir = Files.createDirectory(parent.resolve(safeName));
            } else {
                Path tmp = Path.of("/tmp");
                workDir = Files.isDirectory(tmp) && Files.isWritable(tmp)
                        ? Files.createTempDirectory(tmp, prefix)
                        : Files.createTempDirectory(prefix);
            }
            user.takeOwnership(workDir);
            return workDir;
        } catch (IOException e) {
            throw new EmbeddedPostgresException("cannot create a work directory for cluster " + name + ": " + e, e);
        }
    }

    private void runInitdb(String superuser, String password) throws IOException {
        Path passwordFile = workDir.resolve("superuser-password");
        Files.writeString(passwordFile, password + "\n", StandardCharsets.UTF_8);
        user.takeOwnership(passwordFile);
        List<String> initdb = new ArrayList<>(List.of(
                tool("initdb"), "-D", dataDir.toString(),
                "-U", superuser, "--pwfile=" + passwordFile,
                "--auth-local=trust", "--auth-host=scram-sha-256",
                "-E", "UTF8", "--locale=C"));
        if ("off".equals(settings.get("fsync"))) {
            initdb.add("--no-sync"); // the same durability trade as fsync=off, minus initdb's many fsyncs
        }
        try {
            Commands.runOrThrow(user.command(initdb), workDir, INITDB_TIMEOUT);
        } finally {
            Files.deleteIfExists(passwordFile);
        }
    }

    /** initdb's defaults include this line today; replication clients cannot connect without it. */
    private void allowReplicationOverTcp() throws IOException {
        Path hba = dataDir.resolve("pg_hba.conf");
        if (!REPLICATION_HBA_LINE.matcher(Files.readString(hba, StandardCharsets.UTF_8)).find()) {
            Files.writeString(hba, "host    replication     all             127.0.0.1/32            scram-sha-256\n",
                    StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        }
    }

    /** Our settings live in their own file so they can be rewritten (new port) without parsing postgresql.conf. */
    private void includeSettingsFile() throws IOException {
        Files.writeString(dataDir.resolve("postgresql.conf"), "\ninclude '" + SETTINGS_FILE + "'\n",
                StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    }

    /** Starts the server and returns once it accepts connections; throws with the server log on failure. */
    public void start() {
        if (everStarted) {
            // Later starts keep the port: clients expect to reconnect to a restarted server.
            startOnce();
            return;
        }
        for (int attempt = 1; ; attempt++) {
            port = FreePorts.next();
            Commands.Result result = tryStart();
            if (result.succeeded()) {
                everStarted = true;
                orphanGuard = OrphanGuard.watch(user, binDir.resolve("pg_ctl"), dataDir, workDir);
                return;
            }
            String log = logTail();
            if (attempt == START_ATTEMPTS || !PORT_TAKEN.matcher(log).find()) {
                throw startFailure(result, log);
            }
            // Someone took the probed port between probe and bind; try another one.
        }
    }

    private void startOnce() {
        Commands.Result result = tryStart();
        if (!result.succeeded()) {
            throw startFailure(result, logTail());
        }
    }

    private Commands.Result tryStart() {
        writeSettingsFile();
        return Commands.run(user.command(List.of(
                tool("pg_ctl"), "-D", dataDir.toString(), "-l", logFile().toString(),
                "-w", "-t", Integer.toString(PG_CTL_WAIT_SECONDS), "start")), workDir, COMMAND_TIMEOUT);
    }

    private EmbeddedPostgresException startFailure(Commands.Result result, String log) {
        return new EmbeddedPostgresException("PostgreSQL in " + dataDir + " did not start: " + result.describe()
                + "\n--- server log tail ---\n" + log);
    }

    private void writeSettingsFile() {
        Map<String, String> all = new LinkedHashMap<>();
        all.put("listen_addresses", HOST);
        all.put("port", Integer.toString(port));
        all.put("unix_socket_directories", workDir.toString());
        all.putAll(settings);
        Path file = dataDir.resolve(SETTINGS_FILE);
        try {
            Files.writeString(file, PostgresConf.render("Written by pgrelay before every start.", all),
                    StandardCharsets.UTF_8);
            user.takeOwnership(file);
        } catch (IOException e) {
            throw new EmbeddedPostgresException("cannot write " + file + ": " + e, e);
        }
    }

    /** Shuts down cleanly (fast mode: open sessions are disconnected, everything is checkpointed). */
    public void stop() {
        Commands.Result result = pgCtlStop("fast", PG_CTL_WAIT_SECONDS);
        if (!result.succeeded()) {
            throw new EmbeddedPostgresException("PostgreSQL in " + dataDir + " did not stop: " + result.describe()
                    + "\n--- server log tail ---\n" + logTail());
        }
    }

    /** Kills the server without a checkpoint, so the next start has to run crash recovery. */
    public void crash() {
        Commands.Result result = pgCtlStop("immediate", PG_CTL_WAIT_SECONDS);
        if (!result.succeeded()) {
            throw new EmbeddedPostgresException("PostgreSQL in " + dataDir + " did not crash-stop: " + result.describe());
        }
    }

    private Commands.Result pgCtlStop(String mode, int waitSeconds) {
        return Commands.run(user.command(List.of(
                tool("pg_ctl"), "-D", dataDir.toString(), "-m", mode,
                "-w", "-t", Integer.toString(waitSeconds), "stop")), workDir, Duration.ofSeconds(waitSeconds + 30));
    }

    /**
     * Stops the server however it can and removes its work directory. Never throws.
     *
     * @param graceful try a short fast shutdown before killing; false goes straight to the kill
     */
    public void destroy(boolean graceful) {
        try {
            if (Files.exists(dataDir.resolve("postmaster.pid"))) {
                // A fast shutdown can wait on a stuck WAL sender; the data is about to be deleted anyway.
                boolean stopped = graceful && pgCtlStop("fast", DESTROY_GRACE_SECONDS).succeeded();
                if (!stopped && !pgCtlStop("immediate", PG_CTL_WAIT_SECONDS).succeeded()) {
                    killPostmaster();
                }
            }
        } catch (RuntimeException e) {
            killPostmaster();
        } finally {
            dismissGuard();
            try {
                TreeDeletion.deleteIfExists(workDir);
            } catch (IOException e) {
                System.err.println("pgrelay: could not delete " + workDir + ": " + e);
            }
        }
    }

    /** Leaves the server running beyond this JVM: nothing stops it any more but {@link #stopCommand()}. */
    public void detach() {
        dismissGuard();
    }

    private void dismissGuard() {
        if (orphanGuard != null) {
            orphanGuard.dismiss();
            orphanGuard = null;
        }
    }

    /** Last resort when pg_ctl itself fails; SIGKILL to the postmaster, its children exit on their own. */
    private void killPostmaster() {
        try {
            List<String> pidFile = Files.readAllLines(dataDir.resolve("postmaster.pid"), StandardCharsets.UTF_8);
            if (!pidFile.isEmpty()) {
                ProcessHandle.of(Long.parseLong(pidFile.get(0).strip())).ifPresent(ProcessHandle::destroyForcibly);
            }
        } catch (IOException | RuntimeException ignored) {
            // nothing left to try
        }
    }

    /** The shell command that stops this server cleanly, as its own account. */
    public String stopCommand() {
        List<String> command = user.command(List.of(tool("pg_ctl"), "-D", dataDir.toString(), "-m", "fast", "stop"));
        return String.join(" ", command);
    }

    public String host() {
        return HOST;
    }

    public int port() {
        return port;
    }

    public Path binDir() {
        return binDir;
    }

    /** Everything of this server on disk: the data directory, the socket, the log. */
    public Path workDir() {
        return workDir;
    }

    public Path logFile() {
        return dataDir.resolve(LOG_FILE);
    }

    /** The last lines the server logged, for failure messages. */
    public String logTail() {
        return LogTail.of(logFile(), 40);
    }

    private String tool(String name) {
        return binDir.resolve(name).toString();
    }
}
