package io.pgrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgrelay.feed.FeedSlots;
import io.pgrelay.it.ReplicationPair;
import io.pgrelay.process.RelayProcess;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;

/**
 * {@code java -jar pgrelay.jar slot list|create|drop -c FILE}, as operators run it: against a
 * stopped relay's data directory (made with {@link FeedSlots} and a changelog directly, no
 * PostgreSQL), and against a running relay through its feed (root and downstream clusters, the
 * relay as a process).
 *
 * <p>Every command prints its answer on stdout and nothing else; a failure is one
 * {@code pgrelay: ...} line on stderr with exit code 1 (runtime) or 2 (usage, configuration).
 */
class SlotCliIT {

    private static final Duration CLI_TIMEOUT = Duration.ofSeconds(60);
    private static final long END = 0x5_0000_0400L;

    private static Path runDir;

    @BeforeAll
    static void runDir() throws IOException {
        runDir = RelayProcess.jar().getParent().resolve("relay-processes").resolve("SlotCliIT-" + System.currentTimeMillis());
        Files.createDirectories(runDir);
    }

    static RelayProcess.Result cli(Path dir, Map<String, String> env, String... args) throws IOException, InterruptedException {
        return RelayProcess.runCommand(dir, CLI_TIMEOUT, env, args);
    }

    static RelayProcess.Result slot(Path config, String... args) throws IOException, InterruptedException {
        return slot(config, Map.of(), args);
    }

    static RelayProcess.Result slot(Path config, Map<String, String> env, String... args)
            throws IOException, InterruptedException {
        String[] all = new String[args.length + 3];
        all[0] = "slot";
        System.arraycopy(args, 0, all, 1, args.length);
        all[args.length + 1] = "-c";
        all[args.length + 2] = config.toString();
        return cli(config.getParent(), env, all);
    }

    static void assertSucceeded(RelayProcess.Result result) {
        assertEquals(ExitCode.OK, result.exitCode(), result.toString());
        assertEquals("", result.stderr(), "a successful command prints nothing on stderr: " + result);
        assertClean(result);
    }

    /** One "pgrelay: ..." line (plus at most the --help hint) on stderr, nothing on stdout; returns the line. */
    static String failedWithOneLine(RelayProcess.Result result, int exitCode) {
        assertEquals(exitCode, result.exitCode(), result.toString());
        List<String> lines = result.stderrLines();
        assertFalse(lines.isEmpty(), "no error message: " + result);
        assertTrue(lines.get(0).startsWith("pgrelay: "), "error line: " + result);
        assertTrue(lines.size() == 1 || (lines.size() == 2 && lines.get(1).startsWith("Try ")),
                "one error line (plus the --help hint) expected: " + result);
        assertTrue(result.stdout().isBlank(), "nothing on stdout for an error: " + result);
        assertClean(result);
        return lines.get(0);
    }

    static void assertClean(RelayProcess.Result result) {
        String output = result.output();
        assertFalse(output.contains("Exception"), "exception in the output:\n" + output);
        assertFalse(Pattern.compile("(?m)^\\s*at [\\w$.]+\\(").matcher(output).find(), "stack trace:\n" + output);
        assertFalse(output.contains(SlotFixtures.FEED_PASSWORD), "the feed password appears in the output:\n"
                + output.replace(SlotFixtures.FEED_PASSWORD, "<LEAKED PASSWORD>"));
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    // ==================================================================== a stopped relay

    @Nested
    @TestInstance(TestInstance.Lifecycle.PER_CLASS)
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    class StoppedRelay {

        private Path dir;
        private Path dataDir;
        private Path config;

        @BeforeAll
        void dataDir() throws IOException {
            dir = Files.createDirectories(runDir.resolve("stopped"));
            dataDir = dir.resolve("data");
            Files.createDirectories(dataDir);
            SlotFixtures.appendTransaction(dataDir, END - 0x100, END);
            SlotFixtures.slots(dataDir, "behind", END - 4096);
            config = SlotFixtures.write(dir.resolve("relay.properties"), SlotFixtures.config(dataDir, "127.0.0.1:" + freePort()));
        }

        @Test
        void createListDropAndTheirErrors() throws Exception {
            RelayProcess.Result created = slot(config, "create", "child_a");
            assertSucceeded(created);
            assertEquals("created feed slot \"child_a\" at 5/400\n", created.stdout());
            assertEquals(END, FeedSlots.open(dataDir).get("child_a").orElseThrow().confirmedLsn(),
                    "the slot is durable where the feed reads it, at the changelog's end");

            RelayProcess.Result table = slot(config, "list");
            assertSucceeded(table);
            assertEquals("""
                    NAME     CONFIRMED_LSN  LOST  ACTIVE   LAG_BYTES
                    behind   5/FFFFF400     no    unknown  4096
                    child_a  5/400          no    unknown  0
                    """.replace("5/FFFFF400", LogSequenceNumber.valueOf(END - 4096).asString()), table.stdout());

            RelayProcess.Result json = slot(config, "list", "--json");
            assertSucceeded(json);
            assertEquals("{\"relay\":\"stopped\",\"data_dir\":" + SlotFormat.string(dataDir.toAbsolutePath().toString())
                    + ",\"feed\":null,\"changelog_end_lsn\":\"5/400\",\"slots\":["
                    + "{\"name\":\"behind\",\"confirmed_lsn\":\"" + LogSequenceNumber.valueOf(END - 4096).asString()
                    + "\",\"lost\":false,\"active\":null,\"temporary\":false,\"lag_bytes\":4096},"
                    + "{\"name\":\"child_a\",\"confirmed_lsn\":\"5/400\",\"lost\":false,\"active\":null,\"temporary\":false,"
                    + "\"lag_bytes\":0}]}\n", json.stdout());

            assertEquals("pgrelay: feed slot \"child_a\" already exists",
                    failedWithOneLine(slot(config, "create", "child_a"), ExitCode.FAILURE));
            RelayProcess.Result tolerated = slot(config, "create", "child_a", "--if-not-exists");
            assertSucceeded(tolerated);
            assertEquals("feed slot \"child_a\" already exists\n", tolerated.stdout());

            RelayProcess.Result dropped = slot(config, "drop", "child_a");
            assertSucceeded(dropped);
            assertEquals("dropped feed slot \"child_a\"\n", dropped.stdout());
            assertTrue(FeedSlots.open(dataDir).get("child_a").isEmpty());
            assertEquals("pgrelay: feed slot \"child_a\" does not exist",
                    failedWithOneLine(slot(config, "drop", "child_a"), ExitCode.FAILURE));
            assertSucceeded(slot(config, "drop", "child_a", "--if-exists"));
            assertTrue(FeedSlots.open(dataDir).get("behind").isPresent(), "other slots are left alone");
        }

        @Test
        void badNamesAreUsageErrorsThatNameTheRule() throws Exception {
            for (String bad : List.of("Child-A", "x".repeat(64))) {
                String line = failedWithOneLine(slot(config, "create", bad), ExitCode.USAGE);
                assertTrue(line.contains(bad) && line.contains("1 to 63 lower-case letters, digits and underscores"), line);
            }
            assertTrue(FeedSlots.open(dataDir).get("child-a").isEmpty());
        }

        @Test
        void configurationErrorsAreUsageErrors() throws Exception {
            Path noFeed = SlotFixtures.write(dir.resolve("no-feed.properties"), SlotFixtures.config(dataDir, ""));
            String line = failedWithOneLine(slot(noFeed, "list"), ExitCode.USAGE);
            assertTrue(line.contains("feed.listen is empty") && line.contains("without a feed"), line);

            Path missing = dir.resolve("never-ran");
            Path noDataDir = SlotFixtures.write(dir.resolve("no-data.properties"),
                    SlotFixtures.config(missing, "127.0.0.1:" + freePort()));
            line = failedWithOneLine(slot(noDataDir, "create", "a"), ExitCode.USAGE);
            assertTrue(line.contains(missing.toString()) && line.contains("does not exist"), line);
            assertFalse(Files.exists(missing), "the command must not create a data directory");

            RelayProcess.Result noConfig = cli(dir, Map.of(), "slot", "list");
            assertTrue(failedWithOneLine(noConfig, ExitCode.USAGE).contains("--config"));

            RelayProcess.Result missingFile = slot(dir.resolve("absent.properties"), "list");
            assertEquals(ExitCode.USAGE, missingFile.exitCode(), missingFile.toString());
            assertTrue(missingFile.stderr().contains("absent.properties"), missingFile.toString());
        }

        /** The lock is what tells a running relay: held by another process, its files are not touched. */
        @Test
        void aLockedDataDirWithoutAnAnsweringFeedIsARuntimeFailure() throws Exception {
            try (FileChannel channel = FileChannel.open(dataDir.resolve("pgrelay.lock"),
                    StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock lock = channel.lock()) {
                String line = failedWithOneLine(slot(config, "create", "while_locked"), ExitCode.FAILURE);
                assertTrue(line.contains("locked by a running relay") && line.contains("does not answer"), line);
            }
            assertTrue(FeedSlots.open(dataDir).get("while_locked").isEmpty());
        }
    }

    // ==================================================================== a running relay

    /**
     * A relay process with a feed, streaming from a root. {@code create} and {@code drop} go
     * through the feed's replication commands; {@code list} needs the feed to answer
     * {@link io.pgrelay.feed.SlotListQuery} (see {@link #listShowsActivityAndLag()}).
     */
    @Nested
    @TestInstance(TestInstance.Lifecycle.PER_CLASS)
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    class RunningRelay {

        private static final String PUBLICATION = "slot_cli_pub";
        private static final String UPSTREAM_SLOT = "slot_cli_relay";

        private ReplicationPair pair;
        private RelayProcess relay;
        private Path config;
        private Path dataDir;
        private int feedPort;

        @BeforeAll
        void start() throws Exception {
            pair = ReplicationPair.start("slotcli");
            pair.schema("CREATE TABLE items (id int PRIMARY KEY, v text)");
            pair.upstream("CREATE PUBLICATION " + PUBLICATION + " FOR TABLE items");
            feedPort = freePort();
            Path dir = Files.createDirectories(runDir.resolve("running"));
            dataDir = dir.resolve("relay").resolve("data");
            Properties properties = pair.properties(UPSTREAM_SLOT, PUBLICATION);
            properties.setProperty("feed.listen", "127.0.0.1:" + feedPort);
            properties.setProperty("feed.user", SlotFixtures.FEED_USER);
            properties.setProperty("feed.password", SlotFixtures.FEED_PASSWORD);
            properties.setProperty("data.dir", dataDir.toString());
            relay = RelayProcess.start("relay", dir, properties);
            // The CLI reads the same file the relay runs with.
            config = dir.resolve("relay").resolve("relay.properties");
            assertTrue(relay.awaitLog("feed listening", Duration.ofSeconds(60)), "feed did not start:\n" + relay.log());
            boolean streaming = relay.await(() -> {
                try {
                    return List.of(List.of("t")).equals(pair.upstreamRows(
                            "SELECT active FROM pg_replication_slots WHERE slot_name = '" + UPSTREAM_SLOT + "'"));
                } catch (SQLException e) {
                    return false;
                }
            }, Duration.ofSeconds(60));
            assertTrue(streaming, "relay did not start streaming:\n" + relay.log());
        }

        @AfterAll
        void stop() throws Exception {
            try {
                if (relay != null) {
                    relay.term();
                    relay.waitFor(Duration.ofSeconds(30));
                    assertFalse(relay.log().contains(" ERROR "), "the relay logged an ERROR:\n" + relay.log());
                }
            } finally {
                if (relay != null) {
                    relay.close();
                }
                if (pair != null) {
                    pair.close();
                }
            }
        }

        @Test
        void createAndDropThroughTheFeed() throws Exception {
            RelayProcess.Result created = slot(config, "create", "child_run");
            assertSucceeded(created);
            Matcher at = Pattern.compile("created feed slot \"child_run\" at ([0-9A-F]+/[0-9A-F]+)\n").matcher(created.stdout());
            assertTrue(at.matches(), created.toString());
            assertTrue(relay.awaitLog("feed slot child_run created at " + at.group(1), Duration.ofSeconds(10)),
                    "the running relay's feed created it:\n" + relay.log());
            assertTrue(Files.exists(dataDir.resolve("slots").resolve("child_run.slot")), "the feed wrote it durably");

            assertEquals("pgrelay: feed slot \"child_run\" already exists",
                    failedWithOneLine(slot(config, "create", "child_run"), ExitCode.FAILURE));
            assertSucceeded(slot(config, "create", "child_run", "--if-not-exists"));

            try (Connection client = feedConnection(); PGReplicationStream stream = startStreaming(client, "child_run")) {
                String line = failedWithOneLine(slot(config, "drop", "child_run"), ExitCode.FAILURE);
                assertTrue(line.contains("feed slot \"child_run\" is active"), line);
            }
            RelayProcess.Result dropped = dropOnceReleased("child_run");
            assertSucceeded(dropped);
            assertEquals("dropped feed slot \"child_run\"\n", dropped.stdout());
            assertFalse(Files.exists(dataDir.resolve("slots").resolve("child_run.slot")));
            assertEquals("pgrelay: feed slot \"child_run\" does not exist",
                    failedWithOneLine(slot(config, "drop", "child_run"), ExitCode.FAILURE));
        }

        @Test
        void aWrongFeedPasswordIsARuntimeFailureThatNamesTheKeys() throws Exception {
            String line = failedWithOneLine(slot(config, Map.of("PGRELAY_FEED_PASSWORD", "Wr0ng-feed-pw"),
                    "create", "never_made"), ExitCode.FAILURE);
            assertTrue(line.contains("refused the login") && line.contains("feed.password"), line);
            assertFalse(line.contains("Wr0ng-feed-pw"), line);
        }

        /**
         * NEEDS THE FeedCommands CHANGE: the feed must answer {@link io.pgrelay.feed.SlotListQuery}
         * (one {@code if} in {@code FeedCommands.sql}); without it the CLI says the relay is too old
         * and this test fails saying so.
         */
        @Test
        void listShowsActivityAndLag() throws Exception {
            assertSucceeded(slot(config, "create", "child_list"));
            pair.upstream("INSERT INTO items SELECT g, repeat('x', 100) FROM generate_series(1, 50) g");

            // The relay records the transaction in its changelog: the new slot falls behind.
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            String json;
            while (true) {
                RelayProcess.Result listed = slot(config, "list", "--json");
                if (listed.exitCode() == ExitCode.FAILURE && listed.stderr().contains("cannot list its slots")) {
                    fail("the feed does not answer SlotListQuery yet: apply the FeedCommands change. " + listed);
                }
                assertSucceeded(listed);
                json = listed.stdout();
                if (lagOf(json, "child_list") != 0 || System.nanoTime() > deadline) {
                    break;
                }
                Thread.sleep(300);
            }
            assertTrue(json.startsWith("{\"relay\":\"running\",\"data_dir\":" + SlotFormat.string(dataDir.toAbsolutePath().toString())
                    + ",\"feed\":\"127.0.0.1:" + feedPort + "\",\"changelog_end_lsn\":null,\"slots\":["), json);
            assertTrue(json.contains("{\"name\":\"child_list\","), json);
            assertTrue(lagOf(json, "child_list") > 0, "the slot should lag behind the new transaction: " + json);
            assertTrue(Pattern.compile("\"name\":\"child_list\",[^}]*\"lost\":false,\"active\":false,\"temporary\":false")
                    .matcher(json).find(), json);

            try (Connection client = feedConnection(); PGReplicationStream stream = startStreaming(client, "child_list")) {
                RelayProcess.Result table = slot(config, "list");
                assertSucceeded(table);
                assertTrue(table.stdout().startsWith("NAME "), table.toString());
                assertTrue(table.stdout().lines().anyMatch(line -> line.matches("child_list\\s+[0-9A-F]+/[0-9A-F]+\\s+no\\s+yes\\s+\\d+")),
                        "the streamed slot is active: " + table);
            }
            assertSucceeded(dropOnceReleased("child_list"));
        }

        private long lagOf(String json, String name) {
            Matcher m = Pattern.compile("\"name\":\"" + name + "\",[^}]*\"lag_bytes\":(\\d+)").matcher(json);
            return m.find() ? Long.parseLong(m.group(1)) : -1;
        }

        /** The session's end releases the slot shortly after the client leaves. */
        private RelayProcess.Result dropOnceReleased(String name) throws Exception {
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (true) {
                RelayProcess.Result result = slot(config, "drop", name);
                if (result.exitCode() != ExitCode.FAILURE || !result.stderr().contains("is active")
                        || System.nanoTime() > deadline) {
                    return result;
                }
                Thread.sleep(200);
            }
        }

        private Connection feedConnection() throws SQLException {
            Properties props = new Properties();
            PGProperty.USER.set(props, SlotFixtures.FEED_USER);
            PGProperty.PASSWORD.set(props, SlotFixtures.FEED_PASSWORD);
            PGProperty.REPLICATION.set(props, "database");
            PGProperty.ASSUME_MIN_SERVER_VERSION.set(props, "10");
            PGProperty.PREFER_QUERY_MODE.set(props, "simple");
            return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + feedPort + "/" + ReplicationPair.DB, props);
        }

        private PGReplicationStream startStreaming(Connection client, String slot) throws SQLException {
            return client.unwrap(PGConnection.class).getReplicationAPI().replicationStream().logical()
                    .withSlotName(slot)
                    .withSlotOption("proto_version", 1)
                    .withSlotOption("publication_names", PUBLICATION)
                    .start();
        }
    }
}
