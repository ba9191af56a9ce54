package io.pgrelay.config;

import static io.pgrelay.config.TestConfigs.failing;
import static io.pgrelay.config.TestConfigs.load;
import static io.pgrelay.config.TestConfigs.minimal;
import static io.pgrelay.config.TestConfigs.minimalWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Tag("unit")
@Timeout(10)
class ConfigLoaderTest {

    @Test
    void appliesEveryDefault() {
        RelayConfig c = load(minimal());

        assertEquals("relay_1", c.relayName(), "relay.name defaults to upstream.slot");
        assertEquals("jdbc:postgresql://up.example:5432/app", c.upstream().url());
        assertEquals("repl", c.upstream().user());
        assertTrue(c.upstream().password().isEmpty());
        assertEquals("relay_1", c.upstreamSlot());
        assertEquals(List.of("pub_a"), c.publications());
        assertEquals(1, c.protoVersion());
        assertEquals(Duration.ofSeconds(10), c.statusInterval());
        assertEquals("writer", c.downstream().user());
        assertTrue(c.downstream().password().isEmpty());
        assertEquals(4, c.downstreamPoolSize());
        assertEquals(ConflictPolicy.ERROR, c.conflictPolicy());
        assertEquals(1000, c.applyBatchSize());
        assertEquals(1_000, c.applyGroupChanges());
        assertTrue(c.applyWorkers() >= 1 && c.applyWorkers() <= 4, "apply.workers=0 picks 1..4");
        assertFalse(c.syncInitial());
        assertEquals("", c.feed().listen());
        assertEquals("", c.feed().user());
        assertTrue(c.feed().password().isEmpty());
        assertFalse(c.feed().enabled());
        assertEquals(10L << 30, c.feed().maxRetainedBytes());
        assertEquals(Path.of("data"), c.dataDir());
        assertEquals("", c.httpListen());
        assertEquals(Duration.ofSeconds(1), c.retryInitialBackoff());
        assertEquals(Duration.ofSeconds(60), c.retryMaxBackoff());
        assertEquals(Duration.ofSeconds(30), c.shutdownTimeout());
    }

    @Test
    void readsEveryKeyWhenSet() {
        RelayConfig c = load(minimalWith(
                "relay.name", "eu-west relay #1",
                "upstream.publications", " pub_a , pub_b,pub_c ",
                "upstream.proto-version", "1",
                "upstream.status-interval", "500ms",
                "downstream.pool-size", "64",
                "apply.conflict", "UpSeRt",
                "apply.batch-size", "1",
                "apply.group-changes", "10000000",
                "sync.initial", "FALSE",
                "feed.user", "feeder",
                "feed.password", "feedpw",
                "data.dir", "/var/lib/pgrelay",
                "http.listen", "127.0.0.1:9187",
                "retry.initial-backoff", "250ms",
                "retry.max-backoff", "2m",
                "shutdown.timeout", "1h"));

        assertEquals("eu-west relay #1", c.relayName());
        assertEquals(List.of("pub_a", "pub_b", "pub_c"), c.publications());
        assertEquals(Duration.ofMillis(500), c.statusInterval());
        assertEquals(64, c.downstreamPoolSize());
        assertEquals(ConflictPolicy.UPSERT, c.conflictPolicy());
        assertEquals(1, c.applyBatchSize());
        assertEquals(10_000_000, c.applyGroupChanges());
        assertEquals("feeder", c.feed().user());
        assertEquals("feedpw", c.feed().password().reveal());
        assertEquals(Path.of("/var/lib/pgrelay"), c.dataDir());
        assertEquals("127.0.0.1:9187", c.httpListen());
        assertEquals(Duration.ofMillis(250), c.retryInitialBackoff());
        assertEquals(Duration.ofMinutes(2), c.retryMaxBackoff());
        assertEquals(Duration.ofHours(1), c.shutdownTimeout());
    }

    @Test
    void emptyValueMeansTheDefault() {
        RelayConfig c = load(minimalWith("apply.batch-size", "", "relay.name", "  "));
        assertEquals(1000, c.applyBatchSize());
        assertEquals("relay_1", c.relayName());
    }

    @Test
    void trimsInvisibleTrailingBlanksOfPlainValues() {
        RelayConfig c = load(minimalWith("upstream.slot", "relay_1  ", "downstream.password", "pw  "));
        assertEquals("relay_1", c.upstreamSlot());
        assertEquals("pw  ", c.downstream().password().reveal(), "a password may mean its blanks");
    }

    @Test
    void environmentWinsOverTheFile() {
        Properties p = minimalWith("apply.batch-size", "50", "downstream.password", "from-file");
        RelayConfig c = ConfigLoader.fromProperties(p, Map.of(
                "PGRELAY_APPLY_BATCH_SIZE", "70",
                "PGRELAY_DOWNSTREAM_PASSWORD", "from-env",
                "PGRELAY_UPSTREAM_STATUS_INTERVAL", "2m",
                "PATH", "/usr/bin"));

        assertEquals(70, c.applyBatchSize());
        assertEquals("from-env", c.downstream().password().reveal());
        assertEquals(Duration.ofMinutes(2), c.statusInterval());
    }

    @Test
    void environmentAloneCanSupplyEveryRequiredKey() {
        RelayConfig c = ConfigLoader.fromProperties(new Properties(), Map.of(
                "PGRELAY_UPSTREAM_URL", "jdbc:postgresql://up/app",
                "PGRELAY_UPSTREAM_USER", "repl",
                "PGRELAY_UPSTREAM_SLOT", "s1",
                "PGRELAY_UPSTREAM_PUBLICATIONS", "p1",
                "PGRELAY_DOWNSTREAM_URL", "jdbc:postgresql://down/app",
                "PGRELAY_DOWNSTREAM_USER", "w",
                "PGRELAY_RELAY_NAME", "named"));
        assertEquals("named", c.relayName());
        assertEquals("s1", c.upstreamSlot());
    }

    @Test
    void emptyEnvironmentValueClearsTheFileValue() {
        RelayConfig c = ConfigLoader.fromProperties(minimalWith("http.listen", "127.0.0.1:9187"),
                Map.of("PGRELAY_HTTP_LISTEN", ""));
        assertEquals("", c.httpListen());
    }

    @Test
    void unknownPgrelayVariableIsOnlyAWarning() {
        ConfigLoader.Result result = ConfigLoader.fromPropertiesWithWarnings(minimal(), Map.of(
                "PGRELAY_UPSTREAM_SLOTT", "x",
                "PGRELAY_NONSENSE_THING_HERE", "x",
                "PGRELAY_CONFIG", "/etc/pgrelay/pgrelay.properties",
                "PGRELAY_HOME", "/opt/pgrelay",
                "PGRELAY_OPTS", "-Xmx1g"));

        assertEquals(List.of(
                "PGRELAY_NONSENSE_THING_HERE matches no configuration key and is ignored: unset it or correct its name",
                "PGRELAY_UPSTREAM_SLOTT matches no configuration key and is ignored: "
                        + "did you mean PGRELAY_UPSTREAM_SLOT?"),
                result.warnings());
        assertEquals("relay_1", result.config().upstreamSlot());
    }

    @Test
    void warningsTravelWithTheException() {
        Properties p = minimal();
        p.remove("upstream.slot");
        ConfigException e = failing(p, Map.of("PGRELAY_UPSTREAM_SLOTS", "s"));
        assertEquals(List.of("upstream.slot: missing: set it in the config file or as PGRELAY_UPSTREAM_SLOT"),
                e.problems());
        assertEquals(1, e.warnings().size());
        assertTrue(e.warnings().get(0).contains("did you mean PGRELAY_UPSTREAM_SLOT?"));
    }

    @Test
    void unknownKeyInTheFileIsAProblemWithASuggestion() {
        ConfigException e = failing(minimalWith(
                "upstream.slott", "x",
                "downstream.pasword.file", "/run/secrets/pw",
                "totally.unrelated", "x"));
        assertEquals(List.of(
                "downstream.pasword.file: unknown key in the configuration: did you mean 'downstream.password.file'?",
                "totally.unrelated: unknown key in the configuration: "
                        + "remove it or correct its spelling (see the configuration reference)",
                "upstream.slott: unknown key in the configuration: did you mean 'upstream.slot'?"),
                e.problems());
    }

    @Test
    void suggestsDespiteADifferentCase() {
        ConfigException e = failing(minimalWith("Apply.Batch-Size", "5"));
        assertEquals(List.of("Apply.Batch-Size: unknown key in the configuration: did you mean 'apply.batch-size'?"),
                e.problems());
    }

    @Test
    void reportsEveryRequiredKeyMissing() {
        ConfigException e = failing(new Properties());
        assertEquals(List.of(
                "upstream.url: missing: set it in the config file or as PGRELAY_UPSTREAM_URL",
                "upstream.user: missing: set it in the config file or as PGRELAY_UPSTREAM_USER",
                "upstream.slot: missing: set it in the config file or as PGRELAY_UPSTREAM_SLOT",
                "upstream.publications: missing: set it in the config file or as PGRELAY_UPSTREAM_PUBLICATIONS",
                "downstream.url: missing: set it in the config file or as PGRELAY_DOWNSTREAM_URL",
                "downstream.user: missing: set it in the config file or as PGRELAY_DOWNSTREAM_USER"),
                e.problems());
    }

    @Test
    void reportsSeveralProblemsAtOnce() {
        Properties p = minimalWith(
                "upstream.slot", "My-Slot",
                "upstream.url", "postgresql://up/app",
                "downstream.pool-size", "65",
                "apply.batch-size", "lots",
                "apply.conflict", "ignore",
                "upstream.status-interval", "10 parsecs",
                "sync.initial", "yes",
                "http.listen", "localhost",
                "retry.initial-backoff", "10s",
                "retry.max-backoff", "5s",
                "colour", "blue");
        p.remove("downstream.user");

        ConfigException e = failing(p, Map.of("PGRELAY_APPLY_GROUP_CHANGES", "0"));

        List<String> expected = List.of(
                "colour: unknown key in the configuration: "
                        + "remove it or correct its spelling (see the configuration reference)",
                "upstream.url: 'postgresql://up/app' is not a PostgreSQL JDBC URL: "
                        + "use jdbc:postgresql://HOST[:PORT]/DATABASE",
                "upstream.slot: 'My-Slot' is not a valid slot name: "
                        + "use 1-63 lower-case letters, digits or underscores",
                "upstream.status-interval: '10 parsecs' is not a duration: "
                        + "use 500ms, 10s, 2m, 1h, or a whole number of seconds",
                "downstream.user: missing: set it in the config file or as PGRELAY_DOWNSTREAM_USER",
                "downstream.pool-size: '65' is out of range: use 1..64",
                "apply.conflict: 'ignore' is not a conflict policy: use error, skip or upsert",
                "apply.batch-size: 'lots' is not a whole number: use 1..100000",
                "apply.group-changes: '0' is out of range: use 1..10000000 (set by PGRELAY_APPLY_GROUP_CHANGES)",
                "sync.initial: 'yes' is not a boolean: use true or false",
                "http.listen: 'localhost' is not a listen address: "
                        + "use HOST:PORT, e.g. 127.0.0.1:9187 or [::1]:9187, with a port 1-65535 (0: any free port)",
                "retry.max-backoff: 5s is less than retry.initial-backoff (10s): "
                        + "raise retry.max-backoff or lower retry.initial-backoff");
        assertEquals(expected, e.problems());
        assertEquals(12, e.problems().size());
        assertTrue(e.getMessage().startsWith("12 configuration problems:\n  - colour: unknown key"), e.getMessage());
    }

    @Test
    void slotNameRules() {
        assertEquals("a_1", load(minimalWith("upstream.slot", "a_1")).upstreamSlot());
        assertEquals("x".repeat(63), load(minimalWith("upstream.slot", "x".repeat(63))).upstreamSlot());
        for (String bad : List.of("My-Slot", "UPPER", "has space", "dash-ed", "x".repeat(64), "é")) {
            ConfigException e = failing(minimalWith("upstream.slot", bad));
            assertEquals(List.of("upstream.slot: '" + bad + "' is not a valid slot name: "
                    + "use 1-63 lower-case letters, digits or underscores"), e.problems(), bad);
        }
    }

    @Test
    void relayNameLength() {
        assertEquals("r".repeat(63), load(minimalWith("relay.name", "r".repeat(63))).relayName());
        ConfigException e = failing(minimalWith("relay.name", "r".repeat(64)));
        assertEquals(List.of("relay.name: '" + "r".repeat(64) + "' is 64 characters long: use 1-63 characters"),
                e.problems());
    }

    @Test
    void protoVersionTwoToFourIsNotSupportedYet() {
        for (String version : List.of("2", "3", "4")) {
            assertEquals(List.of("upstream.proto-version=" + version + " is not supported yet: use 1"),
                    failing(minimalWith("upstream.proto-version", version)).problems());
        }
        assertEquals(List.of("upstream.proto-version=2 is not supported yet: use 1 "
                        + "(set by PGRELAY_UPSTREAM_PROTO_VERSION)"),
                failing(minimal(), Map.of("PGRELAY_UPSTREAM_PROTO_VERSION", "2")).problems());
        assertEquals(List.of("upstream.proto-version: '7' is out of range: use 1..1"),
                failing(minimalWith("upstream.proto-version", "7")).problems());
        assertEquals(List.of("upstream.proto-version: '0' is out of range: use 1..1"),
                failing(minimalWith("upstream.proto-version", "0")).problems());
        assertEquals(List.of("upstream.proto-version: 'two' is not a whole number: use 1..1"),
                failing(minimalWith("upstream.proto-version", "two")).problems());
    }

    @Test
    void syncKeysAndTheirSourceLogin() {
        RelayConfig plain = load(minimalWith("sync.initial", "TRUE"));
        assertTrue(plain.syncInitial());
        assertEquals(new RelayConfig.Sync(2, false, null), plain.sync());
        RelayConfig child = load(minimalWith("sync.initial", "true", "sync.parallel", "3", "sync.truncate", "true",
                "sync.source.url", "jdbc:postgresql://parent:5432/app?password=hunter2"));
        assertEquals(3, child.sync().parallel());
        assertTrue(child.sync().truncate());
        assertEquals("jdbc:postgresql://parent:5432/app", child.sync().source().url());
        assertEquals("hunter2", child.sync().source().password().reveal());
        assertFalse(child.toString().contains("hunter2"));
        assertEquals(List.of("sync.parallel=8 is more than downstream.pool-size=4: each table copy holds a downstream "
                        + "connection; lower sync.parallel or raise downstream.pool-size"),
                failing(minimalWith("sync.parallel", "8")).problems());
    }

    @Test
    void feedNeedsAUserAPasswordAndBothTlsFiles() {
        assertEquals(List.of("feed.user is required when feed.listen is set: name the login feed clients use",
                        "feed.password is required when feed.listen is set with feed.auth=scram: "
                                + "set it (or feed.password.file), or use feed.auth=trust for loopback clients",
                        "feed.tls.cert and feed.tls.key go together: set both for TLS, or neither"),
                failing(minimalWith("feed.listen", "0.0.0.0:5433", "feed.tls.cert", "/x.pem")).problems());
        assertEquals(List.of("feed.auth: 'none' is not an authentication method: use scram or trust",
                        "feed.max-retained-bytes: '10 parsecs' is not a size: use " + Sizes.FORMS),
                failing(minimalWith("feed.auth", "none", "feed.max-retained-bytes", "10 parsecs")).problems());
        RelayConfig c = load(minimalWith("feed.listen", "127.0.0.1:5433", "feed.user", "child", "feed.auth", "TRUST",
                "feed.max-retained-bytes", "512MB"));
        assertTrue(c.feed().enabled() && c.feed().trustLoopback());
        assertEquals(512L << 20, c.feed().maxRetainedBytes());
    }

    @Test
    void publicationsMustBeDistinctNonEmptyNames() {
        assertEquals(List.of("upstream.publications: 'a,,b' has an empty name: "
                        + "separate names by single commas, e.g. pub_a,pub_b"),
                failing(minimalWith("upstream.publications", "a,,b")).problems());
        assertEquals(List.of("upstream.publications: 'a,' has an empty name: "
                        + "separate names by single commas, e.g. pub_a,pub_b"),
                failing(minimalWith("upstream.publications", "a,")).problems());
        assertEquals(List.of("upstream.publications: 'a' is listed more than once: list each name once"),
                failing(minimalWith("upstream.publications", "a, b ,a")).problems());
    }

    @Test
    void durationsInEveryForm() {
        assertEquals(Duration.ofSeconds(15), load(minimalWith("upstream.status-interval", "15")).statusInterval());
        assertEquals(Duration.ofMillis(100), load(minimalWith("upstream.status-interval", "100ms")).statusInterval());
        assertEquals(Duration.ofMinutes(2), load(minimalWith("upstream.status-interval", "2m")).statusInterval());
        assertEquals(Duration.ofHours(1), load(minimalWith("upstream.status-interval", "1h")).statusInterval());
        assertEquals(List.of("upstream.status-interval: '2h' is out of range: use 100ms..1h"),
                failing(minimalWith("upstream.status-interval", "2h")).problems());
        assertEquals(List.of("upstream.status-interval: '99ms' is out of range: use 100ms..1h"),
                failing(minimalWith("upstream.status-interval", "99ms")).problems());
        assertEquals(List.of("shutdown.timeout: '1.5s' is not a duration: "
                        + "use 500ms, 10s, 2m, 1h, or a whole number of seconds"),
                failing(minimalWith("shutdown.timeout", "1.5s")).problems());
    }

    @Test
    void httpListenAcceptsHostPortShapes() {
        for (String ok : List.of("127.0.0.1:9187", "localhost:1", "[::1]:65535", "metrics.internal:8080")) {
            assertEquals(ok, load(minimalWith("http.listen", ok)).httpListen());
        }
        for (String bad : List.of(":9187", "host:65536", "host:http", "::1:9187", "host")) {
            assertEquals(1, failing(minimalWith("http.listen", bad)).problems().size(), bad);
        }
    }

    @Test
    void loadsARealFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("pgrelay.properties");
        Files.writeString(file, String.join("\n",
                "# a comment",
                "upstream.url = jdbc:postgresql://up/app",
                "upstream.user = repl",
                "upstream.slot = s1",
                "upstream.publications = p1, p2",
                "downstream.url = jdbc:postgresql://down/app",
                "downstream.user = writer",
                "relay.name = Zürich",
                ""));
        RelayConfig c = ConfigLoader.load(file, Map.of());
        assertEquals(List.of("p1", "p2"), c.publications());
        assertEquals("Zürich", c.relayName(), "the file is read as UTF-8");
    }

    @Test
    void unknownKeysNameTheFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("pgrelay.properties");
        Files.writeString(file, "upstream.slott=x\n");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, Map.of()));
        assertEquals("upstream.slott: unknown key in " + file + ": did you mean 'upstream.slot'?", e.problems().get(0));
    }

    @Test
    void missingFileIsOneProblemNotOnePerKey(@TempDir Path dir) {
        Path file = dir.resolve("nope.properties");
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(file, Map.of("PGRELAY_APPLY_BATCH_SIZE", "0")));
        assertEquals(List.of(
                "config file " + file + " not found: pass -c FILE with the path of the properties file",
                "apply.batch-size: '0' is out of range: use 1..100000 (set by PGRELAY_APPLY_BATCH_SIZE)"),
                e.problems());
    }

    @Test
    void noConfigFileGivenIsAProblem() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(null, Map.of()));
        assertEquals(List.of("no config file given: pass -c FILE or set PGRELAY_CONFIG"), e.problems());
    }

    @Test
    void directoryAsConfigFileIsAProblem(@TempDir Path dir) {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(dir, Map.of()));
        assertEquals(List.of("config file " + dir + " is a directory: pass -c FILE with the path of the properties file"),
                e.problems());
    }

    @Test
    void describeListsEveryKeyInTableOrder() {
        String line = ConfigLoader.describe(load(minimal()));
        int previous = -1;
        for (KeySpec spec : ConfigKeys.all()) {
            int at = line.indexOf(spec.name() + "=");
            assertTrue(at > previous, spec.name() + " in order in " + line);
            previous = at;
        }
        assertTrue(line.contains("upstream.status-interval=10s, "), line);
        assertTrue(line.startsWith("relay.name=relay_1, upstream.url=jdbc:postgresql://up.example:5432/app, "), line);
    }
}
