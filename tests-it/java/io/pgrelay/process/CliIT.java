package io.pgrelay.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.ReplicationPair;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The command-line contract of the real {@code java -jar pgrelay.jar}: exit codes (0 clean stop,
 * 1 runtime failure, 2 usage or configuration error, 3 refused by the preflight), one-line messages that say what to fix, no
 * stack traces, and no password in any output.
 *
 * <p>The relays log in as roles with distinctive passwords created for this test, so a leak of
 * either password anywhere in a relay's output is detectable.
 */
class CliIT {

    private static final String UP_ROLE = "relay_up";
    private static final String UP_PASSWORD = "S3cret-up-xyz";
    private static final String DOWN_ROLE = "relay_down";
    private static final String DOWN_PASSWORD = "S3cret-down-xyz";
    private static final String WRONG_PASSWORD = "Wr0ng-pw-qqq";
    private static final String CONFIG_PASSWORD = "S3cret-in-bad-config";
    private static final List<String> SECRETS = List.of(UP_PASSWORD, DOWN_PASSWORD, WRONG_PASSWORD, CONFIG_PASSWORD);

    private static final String PUBLICATION = "cli_pub";
    private static final String ONLY_UP_PUBLICATION = "cli_only_up_pub";
    private static final Duration CLI_TIMEOUT = Duration.ofSeconds(30);
    private static final Pattern ERROR_LINE = Pattern.compile("^\\S+\\s+ERROR\\s");

    private static ReplicationPair pair;
    private static Path runDir;
    private static final List<RelayProcess> started = new ArrayList<>();

    @BeforeAll
    static void startClusters() throws Exception {
        runDir = RelayProcess.jar().getParent().resolve("relay-processes").resolve("CliIT-" + System.currentTimeMillis());
        Files.createDirectories(runDir);
        pair = ReplicationPair.start("cli");
        pair.schema("CREATE TABLE items (id int PRIMARY KEY, v text)");
        pair.upstream(
                "CREATE TABLE only_up (id int PRIMARY KEY, v text)",
                "CREATE PUBLICATION " + PUBLICATION + " FOR TABLE items",
                "CREATE PUBLICATION " + ONLY_UP_PUBLICATION + " FOR TABLE only_up",
                "CREATE ROLE " + UP_ROLE + " LOGIN REPLICATION PASSWORD '" + UP_PASSWORD + "'",
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + UP_ROLE);
        pair.downstream(
                "CREATE ROLE " + DOWN_ROLE + " LOGIN PASSWORD '" + DOWN_PASSWORD + "'",
                "GRANT CREATE ON DATABASE " + ReplicationPair.DB + " TO " + DOWN_ROLE,
                "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO " + DOWN_ROLE);
    }

    @AfterAll
    static void stopEverything() throws Exception {
        try {
            for (RelayProcess relay : started) {
                relay.close();
            }
        } finally {
            if (pair != null) {
                pair.close();
            }
        }
    }

    // ---------------------------------------------------------------- no cluster needed

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void versionPrintsNameAndVersion() throws Exception {
        RelayProcess.Result result = cli("--version");
        assertEquals(0, result.exitCode(), result.toString());
        String line = result.stdout().strip();
        assertTrue(line.matches("pgrelay \\d+\\.\\d+\\.\\d+\\S*"), "version line: " + result);
        String built = builtVersion();
        if (built != null) {
            assertEquals("pgrelay " + built, line);
        }
        assertNoStackTrace(result.output());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void helpListsTheRunCommandAndExitCodes() throws Exception {
        RelayProcess.Result result = cli("--help");
        assertEquals(0, result.exitCode(), result.toString());
        assertTrue(Pattern.compile("(?m)^\\s+run\\s").matcher(result.stdout()).find(),
                "--help does not list the run command: " + result);
        assertTrue(Pattern.compile("(?m)^\\s+check\\s").matcher(result.stdout()).find(),
                "--help does not list the check command: " + result);
        assertTrue(Pattern.compile("(?m)^\\s+3\\s").matcher(result.stdout()).find(), "exit code 3 not listed: " + result);
        assertTrue(result.stdout().contains("Usage: pgrelay"), result.toString());
        assertNoStackTrace(result.output());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void noArgumentsIsAUsageErrorOnOneLine() throws Exception {
        RelayProcess.Result result = cli();
        assertEquals(2, result.exitCode(), result.toString());
        assertOneErrorLine(result);
        assertTrue(result.stderrLines().get(0).contains("run"), "should point at the run command: " + result);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void runWithoutConfigIsAUsageError() throws Exception {
        RelayProcess.Result result = cli("run");
        assertEquals(2, result.exitCode(), result.toString());
        assertOneErrorLine(result);
        assertTrue(result.stderrLines().get(0).contains("--config"), "should name the missing option: " + result);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void runWithMissingConfigFileNamesTheFile() throws Exception {
        Path missing = runDir.resolve("missing.properties");
        RelayProcess.Result result = cli("run", "-c", missing.toString());
        assertEquals(2, result.exitCode(), result.toString());
        assertTrue(result.stderr().contains(missing.toString()), "should name " + missing + ": " + result);
        assertNoStackTrace(result.output());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void configMistakesAreAllReportedOneLinePerProblem() throws Exception {
        Properties bad = new Properties();
        bad.setProperty("upstream.url", "jdbc:postgresql://127.0.0.1:1/app");
        bad.setProperty("upstream.user", UP_ROLE);
        bad.setProperty("upstream.password", CONFIG_PASSWORD);
        bad.setProperty("upstream.slot", "cli_bad");
        bad.setProperty("upstream.slto", "cli_bad");
        bad.setProperty("upstream.publications", PUBLICATION);
        bad.setProperty("apply.conflict", "maybe");
        bad.setProperty("downstream.user", DOWN_ROLE);
        bad.setProperty("downstream.password", CONFIG_PASSWORD);
        bad.setProperty("downstream.pool-size", "0");
        Path file = RelayProcess.writeConfig(runDir, "bad.properties", bad);

        RelayProcess.Result result = cli("run", "-c", file.toString());

        assertEquals(2, result.exitCode(), result.toString());
        List<String> lines = result.stderrLines();
        for (String key : List.of("upstream.slto", "apply.conflict", "downstream.url", "downstream.pool-size")) {
            long naming = lines.stream().filter(line -> line.contains(key)).count();
            assertEquals(1, naming, "exactly one line should name " + key + ": " + result);
        }
        assertEquals(4, lines.size(), "one line per problem, four problems: " + result);
        assertTrue(lines.stream().anyMatch(line -> line.contains("upstream.slto") && line.contains("upstream.slot")),
                "the typo should be answered with the right key: " + result);
        assertTrue(lines.stream().anyMatch(line -> line.contains("maybe") && line.contains("upsert")),
                "the bad policy line should list the valid ones: " + result);
        assertNoStackTrace(result.output());
        assertNoSecrets(result.output());
    }

    // ---------------------------------------------------------------- against real clusters

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void wrongUpstreamPasswordFailsWithOneLineAndAdvice() throws Exception {
        Properties config = relayConfig("cli_wrong_pw", PUBLICATION);
        config.setProperty("upstream.password", WRONG_PASSWORD);

        RelayProcess relay = start("wrong-password", config, Map.of());
        int exit = relay.waitFor(Duration.ofSeconds(30));

        String log = relay.log();
        assertEquals(3, exit, "run's preflight should refuse to start; log:\n" + log);
        String error = singleErrorLine(relay);
        assertTrue(error.contains("28P01"), "should carry SQLSTATE 28P01: " + error);
        assertTrue(error.contains("password"), "should say the password was refused: " + error);
        assertTrue(error.contains("upstream.password"), "should say what to fix: " + error);
        assertNoStackTrace(log);
        assertNoSecrets(log);
    }

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void missingPublicationFailsNamingIt() throws Exception {
        Properties config = relayConfig("cli_no_pub", "no_such_pub");
        // The downstream password inside the URL this time: it must work and must not leak either.
        config.remove("downstream.password");
        config.setProperty("downstream.url", pair.downstream.jdbcUrl(ReplicationPair.DB) + "?password=" + DOWN_PASSWORD);
        RelayProcess relay = start("missing-publication", config, Map.of());
        int exit = relay.waitFor(Duration.ofSeconds(30));

        String log = relay.log();
        assertEquals(3, exit, "run's preflight should refuse to start; log:\n" + log);
        String error = singleErrorLine(relay);
        assertTrue(error.contains("no_such_pub"), "should name the publication: " + error);
        assertNoStackTrace(log);
        assertNoSecrets(log);
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void missingDownstreamTableFailsNamingItAndNothingIsLostOnceItExists() throws Exception {
        String slot = "cli_no_table";
        Properties config = relayConfig(slot, ONLY_UP_PUBLICATION);
        // At start, run's preflight names the missing table and starts nothing.
        RelayProcess refused = start("missing-table-preflight", config, Map.of());
        assertEquals(3, refused.waitFor(Duration.ofSeconds(30)), "exit code; log:\n" + refused.log());
        assertTrue(singleErrorLine(refused).contains("only_up"), "should name the table: " + refused.log());
        assertNoStackTrace(refused.log());
        assertNoSecrets(refused.log());

        // While running, the table disappears: the relay stops at its last checkpoint, naming it.
        String create = "CREATE TABLE only_up (id int PRIMARY KEY, v text)";
        String grant = "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON only_up TO " + DOWN_ROLE;
        pair.downstream(create, grant);
        RelayProcess relay = start("missing-table", config, Map.of());
        awaitStreaming(relay, slot);
        pair.downstream("DROP TABLE only_up");
        pair.upstream("INSERT INTO only_up VALUES (1, 'kept')");

        int exit = relay.waitFor(Duration.ofSeconds(20));
        String log = relay.log();
        assertEquals(1, exit, "exit code; log:\n" + log);
        String error = singleErrorLine(relay);
        assertTrue(error.contains("only_up"), "should name the table: " + error);
        assertNoStackTrace(log);
        assertNoSecrets(log);

        // Nothing is lost: once the table exists again the row arrives.
        pair.downstream(create, grant);
        RelayProcess again = start("missing-table-fixed", config, Map.of());
        assertTrue(again.await(() -> rows("SELECT id, v FROM only_up").equals(List.of(List.of("1", "kept"))),
                Duration.ofSeconds(30)), "row not applied after the table was created; log:\n" + again.log());
        again.term();
        assertEquals(0, again.waitFor(Duration.ofSeconds(10)), "exit code after SIGTERM; log:\n" + again.log());
        assertNoErrorLines(again);
        assertNoSecrets(again.log());
    }

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void sigtermStopsAnIdleRelayWithExitZero() throws Exception {
        String slot = "cli_idle";
        Properties config = relayConfig(slot, PUBLICATION);
        // Secrets the other ways operators pass them: an environment variable and a KEY.file.
        config.remove("upstream.password");
        config.remove("downstream.password");
        Path passwordFile = runDir.resolve("downstream.password");
        Files.writeString(passwordFile, DOWN_PASSWORD + "\n");
        config.setProperty("downstream.password.file", passwordFile.toString());

        RelayProcess relay = start("idle-sigterm", config, Map.of("PGRELAY_UPSTREAM_PASSWORD", UP_PASSWORD));
        awaitStreaming(relay, slot);
        pair.upstream("INSERT INTO items VALUES (1, 'one')");
        assertTrue(relay.await(() -> rows("SELECT id, v FROM items").equals(List.of(List.of("1", "one"))),
                Duration.ofSeconds(20)), "row not applied; log:\n" + relay.log());
        Thread.sleep(1500); // idle: nothing in flight

        relay.term();
        long signalled = System.nanoTime();
        int exit = relay.waitFor(Duration.ofSeconds(10));
        long stopMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - signalled);

        String log = relay.log();
        assertEquals(0, exit, "exit code after SIGTERM; log:\n" + log);
        System.out.println("CliIT: idle relay stopped " + stopMillis + " ms after SIGTERM");
        assertNoErrorLines(relay);
        assertNoStackTrace(log);
        assertNoSecrets(log);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void sigtermWhileRetryingAnUnreachableUpstreamExitsZero() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        Properties config = relayConfig("cli_unreachable", PUBLICATION);
        config.setProperty("upstream.url", "jdbc:postgresql://127.0.0.1:" + closedPort + "/" + ReplicationPair.DB);

        RelayProcess relay = start("unreachable-upstream", config, Map.of());
        assertTrue(relay.awaitLog("reconnecting", Duration.ofSeconds(20)),
                "a refused connection should be retried with backoff; log:\n" + relay.log());
        assertTrue(relay.isAlive(), "connection refused is not a reason to exit; log:\n" + relay.log());
        String retry = relay.logLines().stream().filter(line -> line.contains("reconnecting")).findFirst().orElseThrow();
        assertTrue(retry.contains("upstream"), "the retry line should say which side failed: " + retry);

        relay.term();
        assertEquals(0, relay.waitFor(Duration.ofSeconds(10)), "exit code after SIGTERM; log:\n" + relay.log());
        assertNoErrorLines(relay);
        assertNoStackTrace(relay.log());
        assertNoSecrets(relay.log());
    }

    // ---------------------------------------------------------------- helpers

    private static RelayProcess.Result cli(String... args) throws IOException, InterruptedException {
        return RelayProcess.runCommand(runDir, CLI_TIMEOUT, Map.of(), args);
    }

    private static RelayProcess start(String name, Properties config, Map<String, String> env) {
        RelayProcess relay = RelayProcess.start(name, runDir, config, env);
        started.add(relay);
        return relay;
    }

    /** The pair's properties, logging in as the roles with distinctive passwords. */
    private static Properties relayConfig(String slot, String publication) {
        Properties config = pair.properties(slot, publication);
        config.setProperty("upstream.user", UP_ROLE);
        config.setProperty("upstream.password", UP_PASSWORD);
        config.setProperty("downstream.user", DOWN_ROLE);
        config.setProperty("downstream.password", DOWN_PASSWORD);
        return config;
    }

    private static List<List<String>> rows(String select) {
        try {
            return pair.downstreamRows(select);
        } catch (SQLException e) {
            return List.of(); // e.g. the table does not exist yet
        }
    }

    private static void awaitStreaming(RelayProcess relay, String slot) throws InterruptedException {
        boolean active = relay.await(() -> {
            try {
                return List.of(List.of("t")).equals(pair.upstreamRows(
                        "SELECT active FROM pg_replication_slots WHERE slot_name = '" + slot + "'"));
            } catch (SQLException e) {
                return false;
            }
        }, Duration.ofSeconds(30));
        assertTrue(active, "relay did not start streaming slot " + slot + "; log:\n" + relay.log());
    }

    private static String singleErrorLine(RelayProcess relay) {
        List<String> errors = relay.logLines().stream().filter(line -> ERROR_LINE.matcher(line).find()).toList();
        assertEquals(1, errors.size(), "expected exactly one ERROR line; log:\n" + relay.log());
        return errors.get(0);
    }

    private static void assertNoErrorLines(RelayProcess relay) {
        assertFalse(relay.logLines().stream().anyMatch(line -> ERROR_LINE.matcher(line).find()),
                relay.name() + " logged an ERROR:\n" + relay.log());
    }

    /** A usage error: one "pgrelay: ..." line, at most followed by the "Try ... --help" hint; nothing on stdout. */
    private static void assertOneErrorLine(RelayProcess.Result result) {
        List<String> lines = result.stderrLines();
        assertFalse(lines.isEmpty(), "no error message: " + result);
        assertTrue(lines.get(0).startsWith("pgrelay: "), "error line: " + result);
        assertTrue(lines.size() == 1 || (lines.size() == 2 && lines.get(1).startsWith("Try ")),
                "one error line (plus the --help hint) expected: " + result);
        assertTrue(result.stdout().isBlank(), "nothing on stdout for an error: " + result);
        assertNoStackTrace(result.output());
    }

    private static void assertNoStackTrace(String output) {
        assertFalse(output.contains("Exception in thread"), "uncaught exception:\n" + output);
        assertFalse(Pattern.compile("(?m)^\\s*at [\\w$.]+\\(").matcher(output).find(), "stack trace:\n" + output);
        assertFalse(output.contains("Caused by:"), "stack trace:\n" + output);
    }

    private static void assertNoSecrets(String output) {
        for (String secret : SECRETS) {
            // The message masks the secret, so the report does not repeat the leak.
            assertFalse(output.contains(secret), "password #" + SECRETS.indexOf(secret)
                    + " appears in the output:\n" + output.replace(secret, "<LEAKED PASSWORD>"));
        }
    }

    private static String builtVersion() throws IOException {
        try (InputStream in = CliIT.class.getResourceAsStream("/pgrelay-version.properties")) {
            if (in == null) {
                return null;
            }
            Properties properties = new Properties();
            properties.load(in);
            return properties.getProperty("pgrelay.version");
        }
    }
}
