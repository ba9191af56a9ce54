package io.pgrelay.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.it.PgCluster;
import io.pgrelay.it.RelayRunner;
import io.pgrelay.it.ReplicationPair;
import io.pgrelay.process.RelayProcess;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
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
 * {@code pgrelay check} against real PostgreSQL: a good setup is all OK (exit 0); a
 * misconfigured upstream (wal_level=replica, a published table without replica identity, a
 * missing publication) gets one FAIL row per problem with its fix (exit 3), and {@code run}
 * refuses to start on it with the same lines (exit 3) and changes nothing; downstream tables,
 * columns and privileges, slot states and a feed upstream are checked in the test JVM.
 */
class CheckIT {

    private static final String UP_ROLE = "check_up";
    private static final String UP_PASSWORD = "Chk-up-S3cret";
    private static final String DOWN_ROLE = "check_down";
    private static final String DOWN_PASSWORD = "Chk-down-S3cret";
    private static final String WEAK_ROLE = "check_weak";
    private static final String WEAK_PASSWORD = "Chk-weak-S3cret";
    private static final List<String> SECRETS = List.of(UP_PASSWORD, DOWN_PASSWORD, WEAK_PASSWORD);
    private static final String GOOD_TABLES = """
            CREATE TABLE items (id int PRIMARY KEY, v text);
            CREATE TABLE keyed (code text NOT NULL, v numeric(10,2));
            CREATE UNIQUE INDEX keyed_code ON keyed (code);
            ALTER TABLE keyed REPLICA IDENTITY USING INDEX keyed_code;
            CREATE TABLE loose (a int, b text);
            ALTER TABLE loose REPLICA IDENTITY FULL;
            CREATE TABLE appended (at timestamptz, msg text)
            """;
    private static final Duration CLI_TIMEOUT = Duration.ofSeconds(60);

    private static ReplicationPair pair;
    private static Path runDir;

    @BeforeAll
    static void startClusters() throws Exception {
        runDir = RelayProcess.jar().getParent().resolve("relay-processes").resolve("CheckIT-" + System.currentTimeMillis());
        Files.createDirectories(runDir);
        pair = ReplicationPair.start("check");
        pair.schema(GOOD_TABLES);
        pair.upstream(
                "CREATE PUBLICATION good_pub FOR TABLE items, keyed, loose",
                "CREATE PUBLICATION log_pub FOR TABLE appended WITH (publish = 'insert')",
                "CREATE ROLE " + UP_ROLE + " LOGIN REPLICATION PASSWORD '" + UP_PASSWORD + "'",
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + UP_ROLE,
                "GRANT EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) TO " + UP_ROLE);
        pair.downstream(
                "CREATE ROLE " + DOWN_ROLE + " LOGIN PASSWORD '" + DOWN_PASSWORD + "'",
                "GRANT CREATE ON DATABASE " + ReplicationPair.DB + " TO " + DOWN_ROLE,
                "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO " + DOWN_ROLE,
                "CREATE ROLE " + WEAK_ROLE + " LOGIN PASSWORD '" + WEAK_PASSWORD + "'");
    }

    @AfterAll
    static void stopClusters() {
        if (pair != null) {
            pair.close();
        }
    }

    // ---------------------------------------------------------------- the command line

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aGoodSetupIsAllOkAndExitsZero() throws Exception {
        Properties config = goodConfig("check_good", "good_pub,log_pub");

        RelayProcess.Result result = check("good", config);

        assertEquals(0, result.exitCode(), result.toString());
        List<String> rows = tableRows(result.stdout());
        assertTrue(rows.size() >= 12, "expected a row per check: " + result);
        for (String row : rows) {
            assertTrue(row.startsWith("OK "), "every check should be OK: " + row + "\n" + result);
        }
        assertTrue(row(result.stdout(), "OK", "replica identity").contains("1 by primary key, 1 USING INDEX, 1 FULL"),
                result.toString());
        assertTrue(row(result.stdout(), "OK", "upstream slot check_good").contains("does not exist yet"), result.toString());
        assertTrue(result.stdout().contains("ready to run"), result.toString());
        assertClean(result.output());
        System.out.println("CheckIT: a good setup\n" + result.stdout());
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aMisconfiguredUpstreamIsNamedWithItsFixesAndRunRefusesToStart() throws Exception {
        try (PgCluster bad = PgCluster.builder("check-replica").setting("wal_level", "replica").start()) {
            bad.createDatabase(ReplicationPair.DB);
            bad.execute(ReplicationPair.DB,
                    "CREATE TABLE items (id int PRIMARY KEY, v text)",
                    "CREATE TABLE no_identity (a int, b text)",
                    "CREATE PUBLICATION bad_pub FOR TABLE items, no_identity");
            pair.downstream("CREATE TABLE no_identity (a int, b text)",
                    "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON no_identity TO " + DOWN_ROLE);
            Properties config = goodConfig("check_bad", "bad_pub,missing_pub");
            config.setProperty("upstream.url", bad.jdbcUrl(ReplicationPair.DB));
            config.setProperty("upstream.user", bad.user());
            config.setProperty("upstream.password", bad.password());

            RelayProcess.Result result = check("bad", config);

            assertEquals(3, result.exitCode(), result.toString());
            String out = result.stdout();
            assertTrue(row(out, "FAIL", "upstream wal_level").contains("replica"), out);
            assertTrue(fixOf(out, "upstream wal_level").contains("wal_level = logical"), out);
            assertTrue(row(out, "FAIL", "replica identity").contains("no_identity"), out);
            assertTrue(fixOf(out, "replica identity").contains("ALTER TABLE public.no_identity"), out);
            assertTrue(fixOf(out, "replica identity").contains("REPLICA IDENTITY FULL"), out);
            assertTrue(row(out, "FAIL", "publication missing_pub").contains("does not exist"), out);
            assertTrue(fixOf(out, "publication missing_pub").contains("CREATE PUBLICATION missing_pub"), out);
            assertTrue(row(out, "OK", "publication bad_pub").contains("2 table(s)"), out);
            assertEquals(3, tableRows(out).stream().filter(line -> line.startsWith("FAIL")).count(),
                    "exactly the three problems fail: " + out);
            assertTrue(out.contains("3 FAIL"), out);
            assertClean(result.output());
            System.out.println("CheckIT: a misconfigured upstream\n" + out);

            try (RelayProcess relay = RelayProcess.start("bad-run", runDir, config)) {
                int exit = relay.waitFor(Duration.ofSeconds(60));
                String log = relay.log();
                assertEquals(3, exit, "run should refuse to start; log:\n" + log);
                List<String> errors = relay.logLines().stream().filter(line -> line.contains(" ERROR ")).toList();
                assertEquals(3, errors.size(), "one ERROR line per FAIL; log:\n" + log);
                for (String named : List.of("wal_level", "no_identity", "missing_pub")) {
                    assertTrue(errors.stream().anyMatch(line -> line.contains(named) && line.contains("fix: ")),
                            named + " should be named with its fix; log:\n" + log);
                }
                assertClean(log);
            }
            assertEquals(List.of(), bad.query(ReplicationPair.DB, "SELECT slot_name FROM pg_replication_slots"),
                    "a refused run must not create the slot");
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void anUnreachableUpstreamIsAFailRowNotAStackTrace() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        Properties config = goodConfig("check_unreachable", "good_pub");
        config.setProperty("upstream.url", "jdbc:postgresql://127.0.0.1:" + closedPort + "/" + ReplicationPair.DB);

        long started = System.nanoTime();
        RelayProcess.Result result = check("unreachable", config);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);

        assertEquals(3, result.exitCode(), result.toString());
        assertTrue(row(result.stdout(), "FAIL", "upstream connection").contains(String.valueOf(closedPort)), result.toString());
        assertTrue(fixOf(result.stdout(), "upstream connection").contains("upstream.url"), result.toString());
        assertTrue(row(result.stdout(), "OK", "downstream connection").contains(DOWN_ROLE), result.toString());
        row(result.stdout(), "SKIP", "downstream tables");
        assertClean(result.output());
        System.out.println("CheckIT: unreachable upstream reported in " + millis + " ms");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aConfigurationErrorStaysExitTwo() throws Exception {
        Properties config = goodConfig("check_config", "good_pub");
        config.remove("downstream.url");

        RelayProcess.Result result = check("config", config);

        assertEquals(2, result.exitCode(), result.toString());
        assertTrue(result.stderr().contains("downstream.url"), result.toString());
        assertTrue(result.stdout().isBlank(), result.toString());
        assertClean(result.output());
    }

    // ---------------------------------------------------------------- in the test JVM

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void downstreamTablesColumnsAndPrivilegesAreChecked() throws Exception {
        pair.upstream(
                "CREATE TABLE only_up (id int PRIMARY KEY)",
                "CREATE TABLE shapes (id int PRIMARY KEY, a text, b int)",
                "CREATE PUBLICATION shape_pub FOR TABLE only_up, shapes, items");
        pair.downstream("CREATE TABLE shapes (id int PRIMARY KEY, b bigint, extra int NOT NULL)",
                "GRANT INSERT ON items TO " + WEAK_ROLE);
        Properties properties = goodConfig("check_shapes", "shape_pub");
        properties.setProperty("downstream.user", WEAK_ROLE);
        properties.setProperty("downstream.password", WEAK_PASSWORD);
        RelayConfig config = ConfigLoader.fromProperties(properties, Map.of());

        CheckReport report = Preflight.run(config, false);

        assertFalse(report.passed(), report.render());
        Check missing = find(report, Check.Status.FAIL, "downstream table", "only_up");
        assertTrue(missing.fix().contains("create it"), missing.toString());
        Check column = find(report, Check.Status.FAIL, "downstream columns", "shapes.a");
        assertTrue(column.fix().contains("ADD COLUMN a text"), column.toString());
        Check type = find(report, Check.Status.FAIL, "downstream columns", "shapes.b");
        assertTrue(type.detail().contains("integer upstream but bigint downstream"), type.toString());
        assertTrue(type.fix().contains("ALTER COLUMN b TYPE integer"), type.toString());
        Check notNull = find(report, Check.Status.WARN, "downstream columns", "shapes.extra");
        assertTrue(notNull.detail().contains("NOT NULL"), notNull.toString());
        Check items = find(report, Check.Status.FAIL, "downstream privileges", "on public.items");
        assertTrue(items.detail().contains("UPDATE, DELETE, TRUNCATE, SELECT"), items.toString());
        assertTrue(items.fix().startsWith("GRANT UPDATE, DELETE, TRUNCATE, SELECT ON public.items TO " + WEAK_ROLE), items.toString());
        // Another test's relay may have created the schema already: either way the weak role is refused.
        Check schema = find(report, Check.Status.FAIL, "downstream pgrelay schema", WEAK_ROLE + " may not");
        assertTrue(schema.fix().contains("TO " + WEAK_ROLE), schema.toString());

        // When run creates missing tables, a missing table is no failure, but the right to create it is checked.
        CheckReport creating = Preflight.run(config, true);
        find(creating, Check.Status.FAIL, "downstream tables", "only_up does not exist and " + WEAK_ROLE + " may not create it");
        properties.setProperty("downstream.user", DOWN_ROLE);
        properties.setProperty("downstream.password", DOWN_PASSWORD);
        pair.downstream("GRANT CREATE ON SCHEMA public TO " + DOWN_ROLE);
        CheckReport allowed = Preflight.run(ConfigLoader.fromProperties(properties, Map.of()), true);
        find(allowed, Check.Status.OK, "downstream tables", "1 missing: run creates them");
        assertTrue(allowed.checks().stream().noneMatch(c -> c.detail().contains("only_up")), allowed.render());

        // When run adds missing columns (schema.add-columns), a missing column is no failure either.
        properties.setProperty("schema.add-columns", "true");
        CheckReport adding = Preflight.run(ConfigLoader.fromProperties(properties, Map.of()), true);
        assertTrue(adding.checks().stream().noneMatch(c -> c.detail().contains("shapes.a")), adding.render());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aRoleWithoutReplicationIsNamedWithTheGrant() throws Exception {
        pair.upstream("CREATE ROLE check_plain LOGIN PASSWORD '" + WEAK_PASSWORD + "'");
        Properties properties = goodConfig("check_plain", "good_pub");
        properties.setProperty("upstream.user", "check_plain");
        properties.setProperty("upstream.password", WEAK_PASSWORD);

        CheckReport report = Preflight.run(ConfigLoader.fromProperties(properties, Map.of()), false);

        Check right = find(report, Check.Status.FAIL, "upstream replication", "check_plain lacks the REPLICATION attribute");
        assertTrue(right.fix().startsWith("ALTER ROLE check_plain REPLICATION"), right.toString());
        assertFalse(right.retriable(), "run must refuse to start on it: " + right);
        find(report, Check.Status.OK, "upstream connection", "as check_plain");
        assertEquals(1, report.withStatus(Check.Status.FAIL).size(), report.render());
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void slotStatesAreReported() throws Exception {
        pair.upstream("SELECT pg_create_physical_replication_slot('check_physical')");
        RelayConfig physical = ConfigLoader.fromProperties(goodConfig("check_physical", "good_pub"), Map.of());
        Check wrongKind = find(Preflight.run(physical, false), Check.Status.FAIL, "upstream slot check_physical", "physical");
        assertTrue(wrongKind.fix().contains("pg_drop_replication_slot('check_physical')"), wrongKind.toString());

        RelayConfig running = ConfigLoader.fromProperties(goodConfig("check_active", "good_pub"), Map.of());
        try (RelayRunner relay = RelayRunner.start(running)) {
            relay.awaitStreaming(Duration.ofSeconds(30));
            CheckReport report = Preflight.run(running, false);
            Check active = find(report, Check.Status.WARN, "upstream slot check_active", "active for another process (pid ");
            assertTrue(active.fix().contains("pg_terminate_backend"), active.toString());
            find(report, Check.Status.OK, "upstream retained WAL", "bytes");
            find(report, Check.Status.OK, "downstream pgrelay schema", "pgrelay.checkpoint exists and is writable");
            assertTrue(report.passed(), "an active slot is a warning, not a failure:\n" + report.render());
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aFeedUpstreamGetsTheChecksThatMakeSense() throws Exception {
        int feedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            feedPort = socket.getLocalPort();
        }
        Properties parent = goodConfig("check_parent", "good_pub");
        parent.setProperty("feed.listen", "127.0.0.1:" + feedPort);
        parent.setProperty("feed.user", "child");
        parent.setProperty("feed.password", "Chk-feed-S3cret");
        parent.setProperty("data.dir", Files.createTempDirectory(runDir, "parent").toString());
        try (RelayRunner relay = RelayRunner.start(ConfigLoader.fromProperties(parent, Map.of()))) {
            relay.awaitStreaming(Duration.ofSeconds(30));
            Properties child = goodConfig("check_child", "good_pub");
            child.setProperty("upstream.url", "jdbc:postgresql://127.0.0.1:" + feedPort + "/" + ReplicationPair.DB);
            child.setProperty("upstream.user", "child");
            child.setProperty("upstream.password", "Chk-feed-S3cret");

            CheckReport report = Preflight.run(ConfigLoader.fromProperties(child, Map.of()), false);

            assertTrue(report.passed(), report.render());
            find(report, Check.Status.OK, "upstream connection", "a pgrelay feed");
            find(report, Check.Status.OK, "upstream system", "root system identifier");
            find(report, Check.Status.OK, "publications", "good_pub");
            find(report, Check.Status.OK, "upstream slot check_child", "does not exist yet");
            find(report, Check.Status.SKIP, "upstream server", "pgrelay feed");
            find(report, Check.Status.SKIP, "downstream tables", "not known");

            RelayConfig childConfig = ConfigLoader.fromProperties(child, Map.of());
            try (Connection feed = CheckConnections.replication(childConfig.upstream(), "CheckIT");
                 Statement statement = feed.createStatement()) {
                statement.execute("CREATE_REPLICATION_SLOT check_child LOGICAL pgoutput");
            }
            find(Preflight.run(childConfig, false), Check.Status.OK, "upstream slot check_child", "feed slot exists, confirmed ");

            child.setProperty("upstream.publications", "good_pub,log_pub");
            CheckReport wrong = Preflight.run(ConfigLoader.fromProperties(child, Map.of()), false);
            Check publications = find(wrong, Check.Status.FAIL, "publications", "serves exactly good_pub");
            assertEquals("set upstream.publications = good_pub", publications.fix());

            child.setProperty("upstream.password", "wrong");
            child.setProperty("upstream.publications", "good_pub");
            Check login = find(Preflight.run(ConfigLoader.fromProperties(child, Map.of()), false),
                    Check.Status.FAIL, "upstream connection", "28P01");
            assertTrue(login.fix().contains("upstream.password"), login.toString());
        }
    }

    // ---------------------------------------------------------------- helpers

    /** The pair with the test's roles, reading {@code publications}. */
    private static Properties goodConfig(String slot, String publications) {
        Properties config = pair.properties(slot, publications);
        config.setProperty("upstream.user", UP_ROLE);
        config.setProperty("upstream.password", UP_PASSWORD);
        config.setProperty("downstream.user", DOWN_ROLE);
        config.setProperty("downstream.password", DOWN_PASSWORD);
        return config;
    }

    private static RelayProcess.Result check(String name, Properties config) throws Exception {
        Path file = RelayProcess.writeConfig(runDir, name + ".properties", config);
        return RelayProcess.runCommand(runDir, CLI_TIMEOUT, Map.of(), "check", "-c", file.toString());
    }

    private static final Pattern ROW = Pattern.compile("^(OK|WARN|FAIL|SKIP)\\s{2,}\\S.*");

    /** The table's rows (not the header, fix lines or summary). */
    private static List<String> tableRows(String output) {
        return output.lines().filter(line -> ROW.matcher(line).matches()).toList();
    }

    /** The row with this status whose check column starts with {@code name}; fails when there is none. */
    private static String row(String output, String status, String name) {
        return tableRows(output).stream()
                .filter(line -> line.startsWith(status + " ") && line.substring(8).startsWith(name))
                .findFirst().orElseThrow(() -> new AssertionError("no " + status + " row for " + name + ":\n" + output));
    }

    /** The fix line under the first row of check {@code name}. */
    private static String fixOf(String output, String name) {
        List<String> lines = output.lines().toList();
        for (int i = 0; i < lines.size() - 1; i++) {
            if (ROW.matcher(lines.get(i)).matches() && lines.get(i).substring(8).startsWith(name)
                    && lines.get(i + 1).startsWith("        fix: ")) {
                return lines.get(i + 1);
            }
        }
        throw new AssertionError("no fix under " + name + ":\n" + output);
    }

    private static Check find(CheckReport report, Check.Status status, String name, String detailPart) {
        return report.checks().stream()
                .filter(c -> c.status() == status && c.name().equals(name) && c.detail().contains(detailPart))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no " + status + " " + name + " containing '" + detailPart + "':\n"
                        + report.render()));
    }

    /** No stack trace and no password anywhere. */
    private static void assertClean(String output) {
        assertFalse(Pattern.compile("(?m)^\\s*at [\\w$.]+\\(").matcher(output).find(), "stack trace:\n" + output);
        assertFalse(output.contains("Exception in thread"), output);
        for (String secret : SECRETS) {
            assertFalse(output.contains(secret), "a password leaked:\n" + output.replace(secret, "<LEAKED>"));
        }
        assertFalse(output.contains(pair.upstream.password()), "the test superuser's password leaked:\n" + output);
    }
}
