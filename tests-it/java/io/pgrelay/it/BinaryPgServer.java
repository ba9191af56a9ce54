package io.pgrelay.it;

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
 * A server run straight from PostgreSQL binaries: initdb into a private temp directory, then
 * pg_ctl to start and stop it. The directory holds the data dir and the unix socket, and is
 * removed on {@link #destroy(boolean)}.
 */
final class BinaryPgServer implements PgServer {

    private static final String HOST = "127.0.0.1";
    /** pg_ctl's own bound; commands get a little more so pg_ctl reports the timeout itself. */
    private static final int PG_CTL_WAIT_SECONDS = 60;
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(PG_CTL_WAIT_SECONDS + 30);
    private static final int DESTROY_GRACE_SECONDS = 10;
    private static final Duration INITDB_TIMEOUT = Duration.ofMinutes(2);
    private static final int START_ATTEMPTS = 3;
    private static final String SETTINGS_FILE = "pgrelay-test.conf";
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

    private BinaryPgServer(ServerUser user, Path binDir, Path workDir, Map<String, String> settings) {
        this.user = user;
        this.binDir = binDir;
        this.workDir = workDir;
        this.dataDir = workDir.resolve("data");
        this.settings = settings;
    }

    /**
     * Creates a new, not yet started cluster.
     *
     * @param settings postgresql.conf settings; port and socket settings are added here
     */
    static BinaryPgServer initdb(String name, Path binDir, Map<String, String> settings,
                                 String superuser, String password) {
        ServerUser user = ServerUser.current();
        Path workDir = createWorkDir(name, user);
        BinaryPgServer server = new BinaryPgServer(user, binDir, workDir, new LinkedHashMap<>(settings));
        try {
            server.runInitdb(superuser, password);
            server.allowReplicationOverTcp();
            server.includeSettingsFile();
            return server;
        } catch (RuntimeException | IOException e) {
            server.destroy(false);
            throw e instanceof PgClusterException pe ? pe
                    : new PgClusterException("cannot create a PostgreSQL cluster in " + workDir, e);
        }
    }

    /**
     * Directly under /tmp rather than java.io.tmpdir: the unix socket lives here and its path must
     * stay under the ~107 byte limit of sockaddr_un.
     */
    private static Path createWorkDir(String name, ServerUser user) {
        String safeName = name.replaceAll("[^A-Za-z0-9_-]", "");
        String prefix = "pgrelay-" + safeName.substring(0, Math.min(safeName.length(), 16)) + "-";
        try {
            Path tmp = Path.of("/tmp");
            Path workDir = Files.isDirectory(tmp) && Files.isWritable(tmp)
                    ? Files.createTempDirectory(tmp, prefix)
                    : Files.createTempDirectory(prefix);
            user.takeOwnership(workDir);
            return workDir;
        } catch (IOException e) {
            throw new PgClusterException("cannot create a work directory for cluster " + name, e);
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

    /** initdb's defaults include this line today; the relay cannot be tested without it. */
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

    @Override
    public void start() {
        if (everStarted) {
            // Later starts keep the port: tests restart a server and expect clients to reconnect to it.
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
                tool("pg_ctl"), "-D", dataDir.toString(), "-l", dataDir.resolve(LOG_FILE).toString(),
                "-w", "-t", Integer.toString(PG_CTL_WAIT_SECONDS), "start")), workDir, COMMAND_TIMEOUT);
    }

    private PgClusterException startFailure(Commands.Result result, String log) {
        return new PgClusterException("PostgreSQL in " + dataDir + " did not start: " + result.describe()
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
            Files.writeString(file, PostgresConf.render("Written by the pgrelay PgCluster test fixture before every start.", all),
                    StandardCharsets.UTF_8);
            user.takeOwnership(file);
        } catch (IOException e) {
            throw new PgClusterException("cannot write " + file, e);
        }
    }

    @Override
    public void stop() {
        Commands.Result result = pgCtlStop("fast", PG_CTL_WAIT_SECONDS);
        if (!result.succeeded()) {
            throw new PgClusterException("PostgreSQL in " + dataDir + " did not stop: " + result.describe()
                    + "\n--- server log tail ---\n" + logTail());
        }
    }

    @Override
    public void crash() {
        Commands.Result result = pgCtlStop("immediate", PG_CTL_WAIT_SECONDS);
        if (!result.succeeded()) {
            throw new PgClusterException("PostgreSQL in " + dataDir + " did not crash-stop: " + result.describe());
        }
    }

    private Commands.Result pgCtlStop(String mode, int waitSeconds) {
        return Commands.run(user.command(List.of(
                tool("pg_ctl"), "-D", dataDir.toString(), "-m", mode,
                "-w", "-t", Integer.toString(waitSeconds), "stop")), workDir, Duration.ofSeconds(waitSeconds + 30));
    }

    @Override
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
            if (orphanGuard != null) {
                orphanGuard.dismiss();
            }
            try {
                TreeDeletion.deleteIfExists(workDir);
            } catch (IOException e) {
                System.err.println("PgCluster: could not delete " + workDir + ": " + e);
            }
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

    @Override
    public String host() {
        return HOST;
    }

    @Override
    public int port() {
        return port;
    }

    @Override
    public Path binDir() {
        return binDir;
    }

    @Override
    public Path workDir() {
        return workDir;
    }

    @Override
    public String logTail() {
        return LogTail.of(dataDir.resolve(LOG_FILE), 40);
    }

    private String tool(String name) {
        return binDir.resolve(name).toString();
    }
}
