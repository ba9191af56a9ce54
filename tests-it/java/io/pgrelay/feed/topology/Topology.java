package io.pgrelay.feed.topology;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.it.PgCluster;
import io.pgrelay.process.RelayProcess;
import io.pgrelay.embedded.TreeDeletion;
import java.io.IOException;
import java.io.Reader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.postgresql.replication.LogSequenceNumber;

/** Shared pieces of the topology ITs: relay properties, feed files, background work, cleanup. */
final class Topology {

    static final String DB = "app";
    /** A log line at level ERROR, in the relay's own pattern and in logback-test's. */
    private static final Pattern ERROR_LINE = Pattern.compile("^\\S+\\s+ERROR\\s");

    private Topology() {}

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** JDBC URL of a relay's feed on loopback. */
    static String feedUrl(int port) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + DB;
    }

    /**
     * Properties of a relay named {@code name} reading {@code upstreamUrl} through slot
     * {@code slot} and applying into database {@code downstreamDb} of {@code downstream}, with
     * {@code apply.conflict=error} (a doubled insert stops it loudly) and quick retries.
     */
    static Properties relay(String name, String upstreamUrl, String user, String password, String slot,
                            String publication, PgCluster downstream, String downstreamDb) {
        Properties p = new Properties();
        p.setProperty("relay.name", name);
        p.setProperty("upstream.url", upstreamUrl);
        p.setProperty("upstream.user", user);
        p.setProperty("upstream.password", password);
        p.setProperty("upstream.slot", slot);
        p.setProperty("upstream.publications", publication);
        p.setProperty("upstream.status-interval", "1s");
        p.setProperty("downstream.url", downstream.jdbcUrl(downstreamDb));
        p.setProperty("downstream.user", downstream.user());
        p.setProperty("downstream.password", downstream.password());
        p.setProperty("apply.conflict", "error");
        p.setProperty("retry.initial-backoff", "100ms");
        p.setProperty("retry.max-backoff", "1s");
        p.setProperty("shutdown.timeout", "20s");
        return p;
    }

    /** Adds a feed on {@code port} (login {@code child}/{@code password}) with its data directory. */
    static Properties withFeed(Properties p, int port, String password, Path dataDir) {
        p.setProperty("feed.listen", "127.0.0.1:" + port);
        p.setProperty("feed.user", "child");
        p.setProperty("feed.password", password);
        p.setProperty("data.dir", dataDir.toString());
        return p;
    }

    static RelayConfig config(Properties p) {
        return ConfigLoader.fromProperties(p, Map.of());
    }

    static long lsn(String text) {
        return LogSequenceNumber.valueOf(text).asLong();
    }

    static String lsnText(long lsn) {
        return LogSequenceNumber.valueOf(lsn).asString();
    }

    /** The feed slot file {@code data.dir/slots/NAME.slot} as properties; null while it does not exist. */
    static Properties slotFile(Path dataDir, String slot) throws IOException {
        Path file = dataDir.resolve("slots").resolve(slot + ".slot");
        Properties properties = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            properties.load(in);
        } catch (NoSuchFileException e) {
            return null;
        }
        return properties;
    }

    static long slotConfirmed(Path dataDir, String slot) throws IOException {
        Properties properties = slotFile(dataDir, slot);
        return properties == null ? 0 : lsn(properties.getProperty("confirmed_lsn"));
    }

    static boolean slotLost(Path dataDir, String slot) throws IOException {
        Properties properties = slotFile(dataDir, slot);
        return properties != null && Boolean.parseBoolean(properties.getProperty("lost"));
    }

    /** The changelog's segment files, oldest first (names sort by sequence number). */
    static List<String> segments(Path dataDir) throws IOException {
        Path dir = dataDir.resolve("changelog");
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".seg")).sorted().toList();
        }
    }

    /** {@code end_lsn} of relay {@code relay}'s checkpoint row in {@code db}; 0 when there is none. */
    static long checkpoint(PgCluster cluster, String db, String relay) throws SQLException {
        List<List<String>> rows = cluster.query(db, "SELECT end_lsn::text FROM pgrelay.checkpoint WHERE relay_name = '"
                + relay + "'");
        return rows.isEmpty() ? 0 : lsn(rows.get(0).get(0));
    }

    static String checkpointCommitTime(PgCluster cluster, String db, String relay) throws SQLException {
        List<List<String>> rows = cluster.query(db, "SELECT commit_time::text FROM pgrelay.checkpoint WHERE relay_name = '"
                + relay + "'");
        return rows.isEmpty() ? null : rows.get(0).get(0);
    }

    /** Lines of a relay process's log that report a failure: ERROR level, stack traces, key conflicts. */
    static List<String> errorLines(RelayProcess relay) {
        List<String> bad = new ArrayList<>();
        for (String line : relay.logLines()) {
            if (ERROR_LINE.matcher(line).find() || line.contains("23505") || line.contains("duplicate key")
                    || line.startsWith("Exception in thread") || line.startsWith("\tat ")) {
                bad.add(line);
            }
        }
        return bad;
    }

    static void assertCleanLog(RelayProcess relay) {
        List<String> bad = errorLines(relay);
        assertTrue(bad.isEmpty(), relay.name() + " logged a failure:\n" + String.join("\n", bad)
                + "\n--- full log of " + relay.name() + " ---\n" + relay.log());
    }

    /** Polls until {@code condition} holds; false when time ran out. Checks {@code background} meanwhile. */
    static boolean await(Check condition, Duration timeout, Background background) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (background != null) {
                background.check();
            }
            if (condition.holds()) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(50);
        }
    }

    /** A query's rows on one side, as text. */
    @FunctionalInterface
    interface Rows {
        List<List<String>> get() throws Exception;
    }

    /**
     * Polls until {@code actual} returns what {@code expected} returns, checking {@code background}
     * meanwhile; then asserts equality (so a timeout fails with both sides in the message).
     */
    static void awaitEqual(Rows expected, Rows actual, Duration timeout, Background background, String what)
            throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<List<String>> want = expected.get();
        List<List<String>> got = actual.get();
        while (!want.equals(got) && System.nanoTime() < deadline) {
            if (background != null) {
                background.check();
            }
            Thread.sleep(100);
            want = expected.get();
            got = actual.get();
        }
        if (background != null) {
            background.check();
        }
        org.junit.jupiter.api.Assertions.assertEquals(want, got,
                what + ": not equal to the root after " + timeout.toSeconds() + " s");
    }

    /**
     * Watches in-process relays that must keep running: one that exits fails the test (through
     * {@code background}) with its failure line. Remove a relay before stopping it on purpose.
     */
    static Map<String, io.pgrelay.it.RelayRunner> watchRunners(Background background) {
        Map<String, io.pgrelay.it.RelayRunner> running = new java.util.concurrent.ConcurrentHashMap<>();
        background.start("relay-watch", () -> {
            while (!background.stop) {
                for (var entry : running.entrySet()) {
                    if (entry.getValue().hasExited() && running.remove(entry.getKey(), entry.getValue())) {
                        throw new AssertionError("relay " + entry.getKey() + " exited by itself: "
                                + entry.getValue().failure());
                    }
                }
                Thread.sleep(100);
            }
        });
        return running;
    }

    @FunctionalInterface
    interface Check {
        boolean holds() throws Exception;
    }

    @FunctionalInterface
    interface Work {
        void run() throws Exception;
    }

    /**
     * Threads a test runs beside its main thread. The first failure of any of them fails the test
     * at the next {@link #check()} (and at the latest in {@link #close()}).
     */
    static final class Background implements AutoCloseable {

        private final Queue<Throwable> errors = new ConcurrentLinkedQueue<>();
        private final List<Thread> threads = new ArrayList<>();
        private volatile boolean reported;
        volatile boolean stop;

        Thread start(String name, Work work) {
            Thread thread = new Thread(() -> {
                try {
                    work.run();
                } catch (Throwable t) {
                    errors.add(t);
                }
            }, name);
            thread.setDaemon(true);
            threads.add(thread);
            thread.start();
            return thread;
        }

        /** Records a failure seen by a watcher. */
        void fail(Throwable t) {
            errors.add(t);
        }

        /** Throws the first failure of a background thread, once (later calls pass). */
        void check() {
            Throwable first = errors.peek();
            if (first != null && !reported) {
                reported = true;
                AssertionError error = new AssertionError("in background thread: " + first.getMessage(), first);
                errors.stream().skip(1).forEach(error::addSuppressed);
                throw error;
            }
        }

        /** Asks every thread to stop, joins them (bounded), and fails on any recorded failure. */
        void stopAll(Duration timeout) throws InterruptedException {
            stop = true;
            long deadline = System.nanoTime() + timeout.toNanos();
            for (Thread thread : threads) {
                thread.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
                if (thread.isAlive()) {
                    errors.add(new AssertionError("background thread " + thread.getName() + " did not stop within "
                            + timeout.toSeconds() + " s"));
                }
            }
            check();
        }

        @Override
        public void close() throws InterruptedException {
            stopAll(Duration.ofSeconds(30));
        }
    }

    /** Closes what a test opened, last first, even when the test failed; collects every failure. */
    static final class Cleanup implements AutoCloseable {

        private final Deque<AutoCloseable> resources = new ArrayDeque<>();

        <T extends AutoCloseable> T add(T resource) {
            resources.push(resource);
            return resource;
        }

        /** Deletes {@code dir} at close only when {@code passed} says so (kept for inspection otherwise). */
        void deleteIfPassed(Path dir, java.util.function.BooleanSupplier passed) {
            resources.push(() -> {
                if (passed.getAsBoolean()) {
                    deleteTree(dir);
                } else {
                    System.out.println("kept for inspection: " + dir);
                }
            });
        }

        @Override
        public void close() throws Exception {
            Exception first = null;
            while (!resources.isEmpty()) {
                try {
                    resources.pop().close();
                } catch (Exception | AssertionError e) {
                    Exception wrapped = e instanceof Exception ex ? ex : new Exception(e);
                    if (first == null) {
                        first = wrapped;
                    } else {
                        first.addSuppressed(wrapped);
                    }
                }
            }
            if (first != null) {
                throw first;
            }
        }
    }

    static Path workDir(String test) throws IOException {
        Path base = Path.of(System.getProperty(RelayProcess.JAR_PROPERTY, "target/pgrelay.jar")).toAbsolutePath()
                .getParent().resolve("topology");
        Files.createDirectories(base);
        return Files.createTempDirectory(base, test + "-");
    }

    /** Removes a test's files; the same deletion the embedded servers use. */
    static void deleteTree(Path root) throws IOException {
        TreeDeletion.deleteIfExists(root);
    }

    /** Text of a few lines, for messages. */
    static String rows(List<List<String>> rows) {
        return rows.size() <= 5 ? rows.toString() : rows.subList(0, 5) + "... (" + rows.size() + " rows)";
    }
}
