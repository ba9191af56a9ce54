package io.pgrelay.fault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgrelay.it.CounterWorkload;
import io.pgrelay.it.ExactlyOnce;
import io.pgrelay.it.PgCluster;
import io.pgrelay.it.fault.FaultProxy;
import io.pgrelay.it.fault.FaultTally;
import io.pgrelay.it.fault.SmallDisk;
import io.pgrelay.process.RelayProcess;
import java.io.IOException;
import java.io.Reader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * One fault-injection run: root → R1 → R2, every relay an operating-system process, every
 * connection of theirs through a {@link FaultProxy} — R1 to the root (upstream), R1 to its
 * database, R2 to R1's feed, R2 to its database — with a {@link CounterWorkload} on the root.
 * Faults are injected one after another; after each, the run waits until both tiers have caught
 * up with the root again (the fault was survived, not just outlasted). In the end every table
 * must equal the root exactly, and after a clean stop each checkpoint must equal what its
 * upstream slot confirmed.
 *
 * <p>Timeouts are short ({@value #TIMEOUT_SECONDS} s for upstream.timeout, downstream.timeout
 * and feed.timeout) so that a black hole longer than them fits in a test.
 */
final class FaultRun implements AutoCloseable {

    static final String DB = "app";
    static final int TIMEOUT_SECONDS = 2;
    private static final String PUBLICATION = "faults";
    private static final String FEED_USER = "child";
    private static final String FEED_PASSWORD = "fault-feed-pw";
    private static final Duration TIMEOUT = Duration.ofSeconds(TIMEOUT_SECONDS);
    /** Longer than every timeout on both sides of a black-holed connection. */
    private static final Duration BLACK_HOLE = TIMEOUT.multipliedBy(2).plusSeconds(1);
    /** How long after {@link #BLACK_HOLE} a relay may take to notice (it may first apply a backlog). */
    private static final Duration NOTICE_WITHIN = Duration.ofSeconds(90);
    private static final Duration RECOVERY = Duration.ofSeconds(120);
    private static final Duration SHUTDOWN = Duration.ofSeconds(25);
    /** What a relay logs when upstream.timeout fires (UpstreamLiveness). */
    private static final String UPSTREAM_DEAD = "presumed dead";
    /** What a relay logs when downstream.timeout (pgjdbc socketTimeout) fires. */
    private static final String DOWNSTREAM_DEAD = "Read timed out";
    private static final int DISK_MEGABYTES = Integer.getInteger("pgrelay.faults.disk-mb", 256);

    private final Random random;
    private final FaultTally tally;
    private final Path work;
    private final List<AutoCloseable> resources = new ArrayList<>();
    private PgCluster root;
    private PgCluster down;
    private FaultProxy upstreamProxy;
    private FaultProxy feedProxy;
    private RelayTier r1;
    private RelayTier r2;
    private SmallDisk disk;
    private String diskSkipped;
    private CounterWorkload workload;
    private long kills;
    private long upstreamTimeouts;
    private long longestBlackHoleMillis;
    private long downstreamTimeouts;
    private long longestRecoveryMillis;
    private long recoveries;
    private long recoveryMillisTotal;

    FaultRun(long seed, FaultTally tally, Path work) {
        this.random = new Random(seed);
        this.tally = tally;
        this.work = work;
    }

    // ------------------------------------------------------------------ setup

    void start() throws Exception {
        root = track(PgCluster.builder("fault-root").start());
        down = track(PgCluster.builder("fault-down").start());
        root.createDatabase(DB);
        root.execute(DB, CounterWorkload.SCHEMA);
        root.execute(DB, CounterWorkload.seed(), "CREATE PUBLICATION " + PUBLICATION + " FOR TABLE counters, events");
        for (String db : List.of("app1", "app2")) {
            down.createDatabase(db);
            down.execute(db, CounterWorkload.SCHEMA);
            down.execute(db, CounterWorkload.seed());
        }
        upstreamProxy = track(FaultProxy.start("r1-upstream", root.host(), root.port()));
        FaultProxy r1Down = track(FaultProxy.start("r1-downstream", down.host(), down.port()));
        int feedPort = freePort();
        feedProxy = track(FaultProxy.start("r2-feed", "127.0.0.1", feedPort));
        FaultProxy r2Down = track(FaultProxy.start("r2-downstream", down.host(), down.port()));

        Path r1Data = r1DataDir();
        Properties p1 = relay("r1", upstreamProxy.jdbcUrl(DB), root.user(), root.password(), r1Down.jdbcUrl("app1"));
        p1.setProperty("feed.listen", "127.0.0.1:" + feedPort);
        p1.setProperty("feed.user", FEED_USER);
        p1.setProperty("feed.password", FEED_PASSWORD);
        p1.setProperty("feed.timeout", TIMEOUT_SECONDS + "s");
        p1.setProperty("data.dir", r1Data.toString());
        Properties p2 = relay("r2", feedProxy.jdbcUrl(DB), FEED_USER, FEED_PASSWORD, r2Down.jdbcUrl("app2"));
        r1 = new RelayTier("R1", p1, work, down, "app1");
        r2 = new RelayTier("R2", p2, work, down, "app2");
        r1Proxy = r1Down;
        r2Proxy = r2Down;

        r1.start();
        awaitLog(r1, "streaming slot");
        r2.start();
        awaitLog(r2, "streaming slot");
        workload = CounterWorkload.on(root, DB, new Random(random.nextLong())).start();
        recover("start");
    }

    private FaultProxy r1Proxy;
    private FaultProxy r2Proxy;

    private Path r1DataDir() {
        String[] why = new String[1];
        disk = SmallDisk.mount(work.resolve("r1-disk"), DISK_MEGABYTES, why);
        if (disk == null) {
            diskSkipped = why[0];
            tally.note("disk full: SKIPPED, this environment cannot provide a small file system (" + why[0] + ")");
            return work.resolve("r1-data");
        }
        tally.note("R1's data.dir is on a " + DISK_MEGABYTES + " MB tmpfs (mount -t tmpfs), filled to ENOSPC by each disk-full fault");
        return disk.dir().resolve("data");
    }

    private static Properties relay(String slot, String upstreamUrl, String user, String password, String downstreamUrl) {
        Properties p = new Properties();
        p.setProperty("upstream.url", upstreamUrl);
        p.setProperty("upstream.user", user);
        p.setProperty("upstream.password", password);
        p.setProperty("upstream.slot", slot);
        p.setProperty("upstream.publications", PUBLICATION);
        p.setProperty("upstream.status-interval", "1s");
        p.setProperty("upstream.timeout", TIMEOUT_SECONDS + "s");
        p.setProperty("downstream.url", downstreamUrl);
        p.setProperty("downstream.user", PgCluster.SUPERUSER);
        p.setProperty("downstream.password", "pgrelay-test-pw");
        p.setProperty("downstream.timeout", TIMEOUT_SECONDS + "s");
        p.setProperty("apply.conflict", "error"); // a doubled insert stops the relay loudly
        p.setProperty("retry.initial-backoff", "100ms");
        p.setProperty("retry.max-backoff", "1s");
        p.setProperty("shutdown.timeout", "20s");
        // Heartbeats are transactions too: without them the final positions stand still for the checks.
        p.setProperty("heartbeat.enabled", "false");
        return p;
    }

    // ------------------------------------------------------------------ faults

    void inject(Fault fault) throws Exception {
        RelayTier tier = random.nextBoolean() ? r1 : r2;
        FaultProxy downstream = tier == r1 ? r1Proxy : r2Proxy;
        String side = tier.name;
        switch (fault) {
            case UPSTREAM_DROP -> drop(upstreamProxy, "network R1→root (upstream): connections closed");
            case UPSTREAM_RESET -> reset(upstreamProxy, "network R1→root (upstream): reset mid-message");
            case UPSTREAM_DELAY -> delay(upstreamProxy, "network R1→root (upstream): delay 50-300 ms for 2 s");
            case UPSTREAM_BLACK_HOLE -> blackHole(upstreamProxy, "network R1→root (upstream): black hole ≥ " + BLACK_HOLE.toSeconds() + " s",
                    r1, UPSTREAM_DEAD);
            case DOWNSTREAM_DROP -> drop(downstream, "network relay→downstream: connections closed");
            case DOWNSTREAM_RESET -> reset(downstream, "network relay→downstream: reset mid-message");
            case DOWNSTREAM_DELAY -> delay(downstream, "network relay→downstream: delay 50-300 ms for 2 s");
            case DOWNSTREAM_BLACK_HOLE -> blackHole(downstream, "network relay→downstream: black hole ≥ " + BLACK_HOLE.toSeconds() + " s",
                    tier, DOWNSTREAM_DEAD);
            case FEED_DROP -> drop(feedProxy, "network R2→R1 feed: connections closed");
            case FEED_RESET -> reset(feedProxy, "network R2→R1 feed: reset mid-message");
            case FEED_DELAY -> delay(feedProxy, "network R2→R1 feed: delay 50-300 ms for 2 s");
            case FEED_BLACK_HOLE -> blackHole(feedProxy, "network R2→R1 feed: black hole ≥ " + BLACK_HOLE.toSeconds() + " s",
                    r2, UPSTREAM_DEAD);
            case KILL9 -> kill9(tier, false);
            case KILL9_AIMED -> kill9(tier, true);
            case UPSTREAM_RESTART -> {
                root.restart();
                tally.fault("root PostgreSQL restarted (fast shutdown)");
            }
            case DOWNSTREAM_RESTART -> {
                down.restart();
                tally.fault("downstream PostgreSQL restarted (fast shutdown)");
            }
            case DOWNSTREAM_CRASH -> {
                down.crash();
                down.start();
                tally.fault("downstream PostgreSQL crashed (immediate shutdown) and restarted");
            }
            case LOCK_WAIT -> lockWait(tier);
            case STATEMENT_TIMEOUT -> statementTimeout(tier);
            case DISK_FULL -> diskFull();
        }
        boolean tierFault = switch (fault) {
            case DOWNSTREAM_DROP, DOWNSTREAM_RESET, DOWNSTREAM_DELAY, DOWNSTREAM_BLACK_HOLE, KILL9, KILL9_AIMED,
                    LOCK_WAIT, STATEMENT_TIMEOUT -> true;
            default -> false;
        };
        recover(fault + (tierFault ? " (" + side + ")" : ""));
    }

    private void drop(FaultProxy proxy, String label) {
        proxy.dropConnections();
        tally.fault(label);
    }

    private void reset(FaultProxy proxy, String label) throws InterruptedException {
        proxy.resetMidMessage();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (proxy.resetPending() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        if (proxy.resetPending()) {
            proxy.pass();
            proxy.dropConnections(); // nothing flowed for 10 s: count it as what it then is
            tally.fault(label.replace("reset mid-message", "connections closed (no traffic to reset)"));
        } else {
            tally.fault(label);
        }
    }

    private void delay(FaultProxy proxy, String label) throws InterruptedException {
        proxy.delay(Duration.ofMillis(50 + random.nextInt(251)));
        Thread.sleep(2000);
        proxy.pass();
        tally.fault(label);
    }

    /**
     * Black hole longer than the timeouts, held until the relay behind it noticed by itself (its
     * log says which timeout fired): not merely outlasted. A relay busy with a backlog it already
     * received does not listen meanwhile, and only starts counting once it reads again, so the
     * hole lasts at least {@link #BLACK_HOLE} and then as long as that takes.
     */
    private void blackHole(FaultProxy proxy, String label, RelayTier watcher, String detected) throws InterruptedException {
        RelayProcess relay = watcher.current();
        int before = occurrences(relay.log(), detected);
        long started = System.nanoTime();
        proxy.blackHole();
        Thread.sleep(BLACK_HOLE.toMillis());
        boolean noticed = relay.await(() -> occurrences(relay.log(), detected) > before, NOTICE_WITHIN);
        String dump = noticed ? "" : threadDump(relay);
        proxy.pass();
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        longestBlackHoleMillis = Math.max(longestBlackHoleMillis, millis);
        tally.fault(label);
        assertTrue(noticed, watcher.name + " did not detect a black hole of " + millis + " ms by itself (no new '"
                + detected + "' in its log); log:\n" + relay.log() + "\nthreads of " + relay.name() + ":\n" + dump);
        if (detected == UPSTREAM_DEAD) {
            upstreamTimeouts++;
        } else {
            downstreamTimeouts++;
        }
    }

    /** jstack of a relay process, for a failure message. */
    private static String threadDump(RelayProcess relay) {
        try {
            Path jstack = Path.of(System.getProperty("java.home"), "bin", "jstack");
            Process process = new ProcessBuilder(jstack.toString(), Long.toString(relay.pid())).redirectErrorStream(true).start();
            String dump = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            process.waitFor(30, TimeUnit.SECONDS);
            return dump;
        } catch (IOException e) {
            return "(no thread dump: " + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "(interrupted)";
        }
    }

    private static int occurrences(String text, String part) {
        int count = 0;
        for (int at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + part.length())) {
            count++;
        }
        return count;
    }

    /** kill -9 at a random moment; aimed: just after a 2000-row transaction committed on the root. */
    private void kill9(RelayTier tier, boolean aimed) throws Exception {
        RelayProcess relay = tier.current();
        if (aimed) {
            workload.awaitLargeCommit(Duration.ofSeconds(3));
            Thread.sleep(random.nextInt(150));
        } else {
            Thread.sleep(random.nextInt(1000));
        }
        assertAlive(tier);
        relay.kill9();
        kills++;
        tally.fault(aimed ? "kill -9 " + tier.name + " aimed at a 2000-row transaction (apply" + (tier == r1 ? ", changelog write and fsync)" : ")")
                : "kill -9 " + tier.name + " at a random moment");
        Thread.sleep(random.nextInt(800));
        tier.start();
    }

    /** A transaction on the downstream holds the relay's table longer than downstream.timeout. */
    private void lockWait(RelayTier tier) throws Exception {
        try (Connection c = tier.downstream.connect(tier.db); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.execute("LOCK TABLE counters IN ACCESS EXCLUSIVE MODE");
            Thread.sleep(TIMEOUT.toMillis() + 1500);
            c.rollback();
        }
        tally.fault("downstream lock wait longer than downstream.timeout");
    }

    /**
     * statement_timeout 200 ms on the relay's database, its sessions cut so new ones take it, and
     * a lock that makes its statements wait: they are cancelled (57014) until both go away.
     */
    private void statementTimeout(RelayTier tier) throws Exception {
        down.execute(tier.db, "ALTER DATABASE " + tier.db + " SET statement_timeout = '200ms'");
        terminateRelaySessions(tier);
        try (Connection c = tier.downstream.connect(tier.db); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.execute("SET statement_timeout = 0");
            s.execute("LOCK TABLE counters IN ACCESS EXCLUSIVE MODE");
            Thread.sleep(2000);
            c.rollback();
        } finally {
            down.execute(tier.db, "ALTER DATABASE " + tier.db + " RESET statement_timeout");
            terminateRelaySessions(tier);
        }
        tally.fault("downstream statement_timeout (200 ms) with a lock wait");
    }

    private void terminateRelaySessions(RelayTier tier) throws SQLException {
        down.query("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + tier.db
                + "' AND application_name = 'pgrelay:" + tier.slot() + "'");
    }

    /** Fills R1's data directory's file system for 3 s; R1 may stop on it (then it is started again). */
    private void diskFull() throws Exception {
        if (disk == null) {
            return;
        }
        long filled = disk.fill();
        Thread.sleep(3000);
        disk.free();
        RelayProcess relay = r1.current();
        Thread.sleep(200);
        if (!relay.isAlive()) {
            r1.allowedExits.add(relay.name() + " exit " + relay.exitCode());
            tally.fault("R1 data.dir file system full (3 s) - R1 stopped with exit " + relay.exitCode() + " and was started again");
            r1.start();
        } else {
            tally.fault("R1 data.dir file system full (3 s), " + (filled >> 20) + " MB free space taken");
        }
    }

    // ------------------------------------------------------------------ recovery and checks

    /**
     * Waits until both tiers hold every event the root has now: the fault was survived. Fails
     * at once when a relay process died by itself.
     */
    private void recover(String after) throws Exception {
        long started = System.nanoTime();
        long target = maxEvent(root, DB);
        long deadline = started + RECOVERY.toNanos();
        while (true) {
            workload.checkErrors();
            assertAlive(r1);
            assertAlive(r2);
            if (maxEvent(down, "app1") >= target && maxEvent(down, "app2") >= target) {
                break;
            }
            if (System.nanoTime() > deadline) {
                fail("after " + after + ": the tiers did not catch up with the root (event " + target + ") within "
                        + RECOVERY.toSeconds() + " s; R1 log:\n" + r1.current().log() + "\nR2 log:\n" + r2.current().log()
                        + "\nthreads of R1:\n" + threadDump(r1.current()) + "\nthreads of R2:\n" + threadDump(r2.current()));
            }
            Thread.sleep(100);
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        longestRecoveryMillis = Math.max(longestRecoveryMillis, millis);
        recoveries++;
        recoveryMillisTotal += millis;
        System.out.println("FaultIT: caught up " + millis + " ms after " + after);
    }

    /** The root's highest event id; 0 while it cannot be reached (a restart is in progress). */
    private static long maxEvent(PgCluster cluster, String db) throws InterruptedException {
        for (int attempt = 0; ; attempt++) {
            try {
                String max = cluster.query(db, "SELECT coalesce(max(id), 0) FROM events").get(0).get(0);
                return Long.parseLong(max);
            } catch (SQLException e) {
                if (attempt >= 100) {
                    throw new AssertionError("cannot read events of " + cluster + "/" + db, e);
                }
                Thread.sleep(100);
            }
        }
    }

    private static void assertAlive(RelayTier tier) {
        RelayProcess relay = tier.current();
        if (!relay.isAlive()) {
            fail(tier.name + " (" + relay.name() + ") exited by itself with code " + relay.exitCode() + "; log:\n"
                    + relay.log());
        }
    }

    private static void awaitLog(RelayTier tier, String text) throws InterruptedException {
        RelayProcess relay = tier.current();
        assertTrue(relay.awaitLog(text, Duration.ofSeconds(60)), tier.name + " did not log '" + text
                + "' within 60 s; log:\n" + relay.log());
    }

    /**
     * Stops the workload, lets both tiers catch up, counts what was lost and doubled, stops both
     * relays cleanly and checks their checkpoints. Figures go to the tally before any assertion,
     * so a failed run still leaves its summary.
     */
    void finish() throws Exception {
        workload.stop();
        for (FaultProxy proxy : List.of(upstreamProxy, r1Proxy, feedProxy, r2Proxy)) {
            proxy.pass();
        }
        recover("the end of the workload");
        awaitEqual("app1");
        awaitEqual("app2");
        ExactlyOnce.Tally t1 = ExactlyOnce.tally(down, "app1", workload);
        ExactlyOnce.Tally t2 = ExactlyOnce.tally(down, "app2", workload);
        tally.figure("kill -9 of a relay process", kills);
        tally.figure("black holes detected by upstream.timeout / downstream.timeout", upstreamTimeouts + " / "
                + downstreamTimeouts);
        tally.figure("longest black hole (held until the relay noticed)", String.format("%.1f s",
                longestBlackHoleMillis / 1000.0));
        tally.figure("relay processes started", r1.processes.size() + r2.processes.size());
        tally.figure("root transactions (multi-statement, 2000-row)", workload.transactions() + " ("
                + workload.multiTransactions() + ", " + workload.largeTransactions() + ")");
        tally.figure("counter increments / event rows committed on the root", workload.increments() + " / " + workload.events());
        tally.figure("rows lost at R1 / R2 (must be 0)", t1.lost() + " / " + t2.lost());
        tally.figure("rows doubled at R1 / R2 (must be 0)", t1.doubled() + " / " + t2.doubled());
        tally.figure("longest catch-up after a fault", String.format("%.1f s", longestRecoveryMillis / 1000.0));
        tally.figure("mean catch-up after a fault", String.format("%.1f s", recoveries == 0 ? 0.0
                : recoveryMillisTotal / 1000.0 / recoveries));
        if (!r1.allowedExits.isEmpty()) {
            tally.figure("R1 exits on a full disk", String.join(", ", r1.allowedExits));
        }
        ExactlyOnce.assertExact(root, DB, workload, "root (vs the workload)");
        ExactlyOnce.assertExact(down, "app1", workload, "R1's database");
        ExactlyOnce.assertExact(down, "app2", workload, "R2's database");

        // Clean stops, leaf first; then each checkpoint equals what its upstream slot confirmed.
        stop(r2);
        stop(r1);
        String r1Checkpoint = checkpoint(r1)[0];
        String rootSlot = awaitRootSlotConfirmed(r1Checkpoint);
        assertEquals(r1Checkpoint, rootSlot, "R1's checkpoint vs the root slot's confirmed_flush_lsn after a clean stop");
        String feedSlot = feedSlotConfirmed();
        String[] r2Checkpoint = checkpoint(r2);
        assertEquals(r2Checkpoint[0], feedSlot, "R2's checkpoint vs R1's feed slot r2 after a clean stop");
        assertEquals(checkpoint(r1)[1], r2Checkpoint[1], "R1 and R2 checkpoints name different root commit times");
        tally.figure("R1 checkpoint = root slot confirmed_flush_lsn", r1Checkpoint + " = " + rootSlot);
        tally.figure("R2 checkpoint = R1 feed slot confirmed", r2Checkpoint[0] + " = " + feedSlot);
        assertNoDuplicateKeys();
    }

    private void awaitEqual(String db) throws Exception {
        for (String sql : List.of(CounterWorkload.COUNTERS_SQL, CounterWorkload.EVENTS_SQL)) {
            long deadline = System.nanoTime() + RECOVERY.toNanos();
            List<List<String>> want = root.query(DB, sql);
            List<List<String>> got = down.query(db, sql);
            while (!want.equals(got) && System.nanoTime() < deadline) {
                assertAlive(r1);
                assertAlive(r2);
                Thread.sleep(100);
                got = down.query(db, sql);
            }
        }
    }

    private void stop(RelayTier tier) throws Exception {
        RelayProcess relay = tier.current();
        relay.term();
        assertEquals(0, relay.waitFor(SHUTDOWN), tier.name + " exit code after SIGTERM; log:\n" + relay.log());
    }

    /** end_lsn and commit_time of the tier's checkpoint row. */
    private String[] checkpoint(RelayTier tier) throws SQLException {
        List<List<String>> rows = down.query(tier.db, "SELECT end_lsn::text, commit_time::text FROM pgrelay.checkpoint"
                + " WHERE relay_name = '" + tier.slot() + "'");
        assertEquals(1, rows.size(), tier.name + " has no checkpoint row");
        return new String[] {rows.get(0).get(0), rows.get(0).get(1)};
    }

    private String awaitRootSlotConfirmed(String expected) throws Exception {
        String sql = "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'r1' AND NOT active";
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<List<String>> rows = root.query(DB, sql);
        while ((rows.isEmpty() || !expected.equals(rows.get(0).get(0))) && System.nanoTime() < deadline) {
            Thread.sleep(100);
            rows = root.query(DB, sql);
        }
        assertEquals(1, rows.size(), "the root slot r1 is missing or still active 10 s after R1 stopped");
        return rows.get(0).get(0);
    }

    private String feedSlotConfirmed() throws IOException {
        Path file = Path.of(r1.config.getProperty("data.dir")).resolve("slots").resolve("r2.slot");
        Properties slot = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            slot.load(in);
        }
        return slot.getProperty("confirmed_lsn");
    }

    private void assertNoDuplicateKeys() {
        List<String> bad = new ArrayList<>();
        for (RelayTier tier : List.of(r1, r2)) {
            for (RelayProcess process : tier.processes) {
                for (String line : process.logLines()) {
                    if (line.contains("23505") || line.contains("duplicate key")) {
                        bad.add(process.name() + ": " + line);
                    }
                }
            }
        }
        assertTrue(bad.isEmpty(), "a relay hit a duplicate key, i.e. applied a row twice:\n" + String.join("\n", bad));
    }

    /** Shown in the summary: ERROR lines per process (expected only where a full disk stopped R1). */
    void noteErrorLines() {
        for (RelayTier tier : List.of(r1, r2)) {
            for (RelayProcess process : tier.processes) {
                long errors = process.logLines().stream().filter(l -> l.matches("^\\S+\\s+ERROR\\s.*")).count();
                if (errors > 0) {
                    tally.note(process.name() + " logged " + errors + " ERROR line(s): "
                            + process.logLines().stream().filter(l -> l.matches("^\\S+\\s+ERROR\\s.*")).findFirst().orElse(""));
                }
            }
        }
    }

    String diskSkipped() {
        return diskSkipped;
    }

    private <T extends AutoCloseable> T track(T resource) {
        resources.add(resource);
        return resource;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** Stops the workload and every process, unmounts the disk, closes proxies and servers; first failure wins. */
    @Override
    public void close() throws Exception {
        Exception first = null;
        if (workload != null) {
            workload.halt();
        }
        for (RelayTier tier : new RelayTier[] {r2, r1}) {
            if (tier != null) {
                tier.closeAll();
            }
        }
        if (disk != null) {
            try {
                disk.close();
            } catch (Exception e) {
                first = e;
            }
        }
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
