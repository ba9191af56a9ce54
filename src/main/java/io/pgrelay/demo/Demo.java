package io.pgrelay.demo;

import io.pgrelay.embedded.EmbeddedPostgresException;
import io.pgrelay.embedded.PostgresBinaries;
import io.pgrelay.embedded.ServerUser;
import io.pgrelay.embedded.TreeDeletion;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code pgrelay demo}: a root and a chain of relays on embedded PostgreSQL clusters in one
 * process — start, write, watch the lag, verify every table at every tier, shut down.
 *
 * <p>{@link #run()} runs on one thread; {@link #requestStop(String)} may come from any thread
 * (a signal handler): the run then stops the workload, the relays and the clusters, in that
 * order, and returns 0. A watchdog halts the JVM if that stop stalls.
 */
public final class Demo {

    public static final int OK = 0;
    public static final int FAILED = 1;

    private static final int WRITERS = 2;
    private static final Duration STREAMING_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration CATCH_UP_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_WATCHDOG = Duration.ofSeconds(90);

    private final int tiers;
    private final int seconds;
    private final boolean keep;
    private final PrintWriter out;
    private final CountDownLatch stopRequested = new CountDownLatch(1);
    private final CountDownLatch finished = new CountDownLatch(1);
    private final long startedNanos = System.nanoTime();

    private Path dir;
    private DemoClusters clusters;
    private final RelayChain relays = new RelayChain();
    private Workload workload;

    /**
     * @param tiers   relays in the chain after the root, 1..{@value Tiers#MAX}
     * @param seconds how long the workload runs
     * @param keep    leave the clusters running at the end
     */
    public Demo(int tiers, int seconds, boolean keep, PrintWriter out) {
        this.tiers = tiers;
        this.seconds = seconds;
        this.keep = keep;
        this.out = out;
    }

    /** Runs the demo; returns 0 when every table is equal at every tier (or on Ctrl-C), 1 otherwise. */
    public int run() {
        Thread hook = new Thread(this::abandon, "pgrelay-demo-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        int code = FAILED;
        try {
            code = runSteps() || stopping() ? OK : FAILED;
        } catch (DemoFailure | EmbeddedPostgresException e) {
            code = reportFailure(e.getMessage());
        } catch (SQLException e) {
            code = reportFailure("SQL failed: " + e.getMessage() + " (SQLSTATE " + e.getSQLState() + ")");
        } catch (IOException e) {
            code = reportFailure(e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            code = OK;
        } finally {
            // Kept on a failed verification too: that is when one wants to look inside.
            code = shutDown(keep && !stopping()) ? code : FAILED;
            removeHook(hook);
            say("demo finished in %s (exit %d)", elapsed(startedNanos), code);
            finished.countDown();
        }
        return code;
    }

    /** The demo's steps; true when every tier verified equal, false when stopped early. */
    private boolean runSteps() throws IOException, SQLException, InterruptedException {
        say("pgrelay demo: root → %s, one PostgreSQL cluster each, the relays run in this process", chain());
        prepareBinaries();
        if (stopping()) {
            return false;
        }
        dir = createDemoDir();
        startClusters();
        if (stopping()) {
            return false;
        }
        relays.start(clusters, dir, STREAMING_TIMEOUT, this::stopping, this::say);
        if (stopping()) {
            return false;
        }
        runWorkload();
        if (stopping()) {
            return false;
        }
        return verify();
    }

    private void prepareBinaries() {
        ServerUser user = ServerUser.current();
        if (user.switches()) {
            say("running as root: the servers run as '%s' (PostgreSQL refuses to run as root)", user.name());
        }
        long started = System.nanoTime();
        PostgresBinaries.Prepared binaries = PostgresBinaries.prepare(PostgresBinaries.defaultCacheRoots(), user);
        say("PostgreSQL %s from the jar: %s %s%s", binaries.serverVersion(),
                binaries.unpackedNow() ? "unpacked into" : "already in", binaries.binDir().getParent(),
                binaries.unpackedNow() ? " in " + elapsed(started) : "");
    }

    /**
     * Under /tmp, so the unix sockets' paths stay short; traversable (not listable) by others,
     * because under root the servers run as another account.
     */
    private static Path createDemoDir() throws IOException {
        Path tmp = Path.of("/tmp");
        Path parent = Files.isDirectory(tmp) && Files.isWritable(tmp) ? tmp : Path.of(System.getProperty("java.io.tmpdir"));
        Path dir = Files.createTempDirectory(parent, "pgrelay-demo-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
        return dir;
    }

    private void startClusters() throws InterruptedException, SQLException {
        long started = System.nanoTime();
        clusters = DemoClusters.start(tiers, dir);
        clusters.createSchema();
        say("clusters up in %s: %s; database '%s', publication '%s' on the root; files in %s", elapsed(started),
                clusters.describe(), DemoSchema.DATABASE, DemoSchema.PUBLICATION, dir);
    }

    private void runWorkload() throws SQLException, InterruptedException {
        workload = new Workload(clusters.root(), WRITERS);
        workload.seed();
        workload.start();
        say("workload: %d s of transfers and events on the root, %d writers (Ctrl-C stops early)", seconds, WRITERS);
        long started = System.nanoTime();
        try (LagProbe lagProbe = new LagProbe(clusters)) {
            long lastRows = 0;
            for (int second = 1; second <= seconds; second++) {
                long wait = started + TimeUnit.SECONDS.toNanos(second) - System.nanoTime();
                if (stopRequested.await(Math.max(0, wait), TimeUnit.NANOSECONDS)) {
                    break;
                }
                long rows = workload.rows();
                List<Duration> lags = lagProbe.lags();
                say("%s", ProgressLine.format(second, rows - lastRows, lags));
                lastRows = rows;
                checkHealth();
            }
        }
        workload.close();
        checkHealth();
        if (!stopping()) {
            say("workload done: %,d rows changed in %,d transactions; comparing every table at every tier",
                    workload.rows(), workload.transactions());
        }
    }

    private void checkHealth() {
        String relayFailure = relays.failure();
        if (relayFailure != null) {
            throw new DemoFailure(relayFailure);
        }
        Throwable writerFailure = workload.failure();
        if (writerFailure != null) {
            throw new DemoFailure("the workload failed: " + writerFailure.getMessage());
        }
    }

    private boolean verify() throws SQLException, InterruptedException {
        long started = System.nanoTime();
        Verification.Outcome outcome = Verification.awaitEqual(clusters, CATCH_UP_TIMEOUT, this::stopping);
        if (stopping()) {
            return false;
        }
        Verification.report(outcome, tiers).forEach(this::say);
        if (outcome.equal()) {
            say("(the last tier caught up %s after the workload stopped)", elapsed(started));
        }
        return outcome.equal();
    }

    /**
     * Stops what runs, last started first; keeps the clusters when asked to. Returns false when
     * something did not stop cleanly (the message is printed).
     */
    private boolean shutDown(boolean keepClusters) {
        boolean clean = true;
        try {
            if (workload != null) {
                workload.close();
            }
            relays.close();
        } catch (DemoFailure e) {
            say("%s", e.getMessage());
            clean = false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            clean = false;
        }
        if (clusters != null && keepClusters) {
            clusters.detach();
            say("clusters left running (--keep); connect with:");
            clusters.connectionHelp().forEach(this::say);
            say("files are in %s (remove it once the servers are stopped); the root keeps relay A's slot '%s',"
                    + " which holds WAL back: SELECT pg_drop_replication_slot('%s') there if you write on",
                    dir, Tiers.relayName(1), Tiers.relayName(1));
            return clean;
        }
        if (clusters != null) {
            clusters.close();
        }
        deleteDemoDir();
        if (clusters != null) {
            say("stopped the relays and the clusters; removed %s", dir);
        }
        return clean;
    }

    private void deleteDemoDir() {
        if (dir == null) {
            return;
        }
        try {
            TreeDeletion.deleteIfExists(dir);
        } catch (IOException e) {
            say("could not remove %s: %s", dir, e);
        }
    }

    /** Asks the run to stop everything and return 0; halts the JVM if that takes too long. */
    public void requestStop(String signal) {
        if (stopRequested.getCount() == 0) {
            return;
        }
        say("%s: stopping the workload, the relays and the clusters", signal);
        stopRequested.countDown();
        Thread watchdog = new Thread(() -> {
            try {
                if (!finished.await(STOP_WATCHDOG.toMillis(), TimeUnit.MILLISECONDS)) {
                    say("the stop did not finish within %d s: halting (the servers stop by themselves)",
                            STOP_WATCHDOG.toSeconds());
                    Runtime.getRuntime().halt(FAILED);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "pgrelay-demo-stop-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }

    private boolean stopping() {
        return stopRequested.getCount() == 0;
    }

    /** The JVM exits while the demo runs (SIGHUP, say): stop the servers at once. */
    private void abandon() {
        DemoClusters running = clusters;
        if (running != null && finished.getCount() > 0) {
            running.abandon();
        }
    }

    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down already; the hook finds nothing left to do
        }
    }

    /** Prints the failure and returns 1; after Ctrl-C a failure is the signal's doing (initdb killed, say): 0. */
    private int reportFailure(String message) {
        if (stopping()) {
            return OK;
        }
        say("demo failed: %s", message);
        return FAILED;
    }

    private String chain() {
        StringBuilder chain = new StringBuilder();
        for (int tier = 1; tier <= tiers; tier++) {
            chain.append(tier == 1 ? "" : " → ").append("relay ").append(Tiers.label(tier));
        }
        return chain.toString();
    }

    private void say(String line) {
        synchronized (out) {
            out.println(line);
            out.flush();
        }
    }

    private void say(String format, Object... args) {
        say(String.format(Locale.ROOT, format, args));
    }

    private static String elapsed(long startedNanos) {
        return String.format(Locale.ROOT, "%.1f s", (System.nanoTime() - startedNanos) / 1e9);
    }
}
