package io.pgrelay.ship;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgrelay.config.ConfigException;
import io.pgrelay.config.ConfigKeys;
import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.Durations;
import io.pgrelay.config.HostPort;
import io.pgrelay.config.KeySpec;
import io.pgrelay.config.RelayConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The compose demo (conf/compose) and the image's environment configure real relays: every
 * {@code PGRELAY_*} variable names a key, each relay's configuration (the image's ENV under the
 * service's environment) loads without a problem or a warning, and the pieces agree with each
 * other: the chain, the secrets, the health checks, Prometheus and the init scripts.
 */
@Tag("unit")
@Timeout(10)
class ComposeConfigTest {

    private static final Path COMPOSE_DIR = Path.of("conf/compose");
    private static final Path COMPOSE = COMPOSE_DIR.resolve("compose.yaml");
    private static final String SECRETS_MOUNT = "/run/secrets/";
    private static final Pattern JDBC = Pattern.compile("jdbc:postgresql://([^:/]+):(\\d+)/([^?]+)");

    private static Map<String, Object> compose;
    private static Map<String, String> imageEnv;

    @BeforeAll
    static void read() throws IOException {
        compose = MiniYaml.parse(Files.readString(COMPOSE));
        imageEnv = DockerfileInstructions.read(DockerfileInstructions.DOCKERFILE).finalEnv();
    }

    @Test
    void theDemoHasTwoChainedRelays() {
        assertEquals(List.of("relay-a", "relay-b"), relayServices(), "services built from the Dockerfile");
    }

    @Test
    void everyPgrelayVariableOfTheRelaysNamesAKey() {
        Set<String> known = keyVariables();
        for (String relay : relayServices()) {
            for (String variable : environment(relay).keySet()) {
                if (variable.startsWith(ConfigKeys.ENV_PREFIX)) {
                    assertTrue(known.contains(variable), relay + ": " + variable
                            + " is no configuration key (PGRELAY_ + key, or its _FILE form); keys: " + new TreeSet<>(known));
                }
            }
        }
    }

    @Test
    void everyPgrelayVariableOfTheImageNamesAKey() {
        Set<String> known = keyVariables();
        assertFalse(imageEnv.isEmpty(), "the Dockerfile sets no ENV");
        for (String variable : imageEnv.keySet()) {
            if (variable.startsWith(ConfigKeys.ENV_PREFIX)) {
                assertTrue(known.contains(variable), "Dockerfile ENV " + variable + " is no configuration key");
            }
        }
        assertEquals("/var/lib/pgrelay", imageEnv.get(ConfigKeys.DATA_DIR.envName()), "the image's data.dir");
    }

    /** What the relay would do at start: load the container's variables with the (empty) image file. */
    @Test
    void eachRelayLoadsItsConfigurationWithoutProblemsOrWarnings() {
        for (String relay : relayServices()) {
            Map<String, String> env = withLocalSecretFiles(relay, containerEnv(relay));
            try {
                ConfigLoader.Result result = ConfigLoader.fromPropertiesWithWarnings(new Properties(), env);
                assertEquals(List.of(), result.warnings(), relay + ": warnings");
            } catch (ConfigException e) {
                fail(relay + ": the configuration does not load: " + e.problems() + " " + e.warnings());
            }
        }
    }

    @Test
    void secretFilesAreComposeSecretsOfTheirService() {
        Map<String, Object> declared = map(compose.get("secrets"));
        for (String relay : relayServices()) {
            for (Map.Entry<String, String> variable : environment(relay).entrySet()) {
                if (!variable.getKey().endsWith("_FILE")) {
                    continue;
                }
                String secret = secretName(relay, variable.getKey(), variable.getValue());
                assertTrue(list(service(relay).get("secrets")).contains(secret),
                        relay + ": " + variable.getKey() + " reads secret " + secret + " that the service does not mount");
                assertTrue(declared.containsKey(secret), "secret " + secret + " is not declared at the top level");
            }
        }
        for (Map.Entry<String, Object> secret : declared.entrySet()) {
            Path file = COMPOSE_DIR.resolve(string(map(secret.getValue()).get("file")));
            assertTrue(Files.isRegularFile(file), "secret " + secret.getKey() + ": " + file + " is missing");
        }
    }

    @Test
    void relayBReadsRelayAsFeedAsItsChild() {
        RelayConfig a = load("relay-a");
        RelayConfig b = load("relay-b");
        assertTrue(a.feed().enabled(), "relay-a serves a feed");
        Matcher upstreamOfB = jdbc(b.upstream().url());
        assertEquals("relay-a", upstreamOfB.group(1), "relay-b's upstream host");
        assertEquals(HostPort.parse(a.feed().listen()).port(), Integer.parseInt(upstreamOfB.group(2)),
                "relay-b's upstream port is relay-a's feed port");
        assertEquals(jdbc(a.upstream().url()).group(3), upstreamOfB.group(3),
                "the feed is reached with the database name of relay-a's upstream");
        assertEquals(a.feed().user(), b.upstream().user(), "relay-b logs in as relay-a's feed user");
        assertEquals(environment("relay-a").get(ConfigKeys.FEED_PASSWORD.fileEnvName()),
                environment("relay-b").get(ConfigKeys.UPSTREAM_PASSWORD.fileEnvName()),
                "relay-b's upstream password is relay-a's feed password (the same secret)");
        assertEquals(a.publications(), b.publications(), "one publication name flows down the chain");
        assertNotEquals(a.upstreamSlot(), b.upstreamSlot(), "slots");
        assertNotEquals(a.downstream().url(), b.downstream().url(), "each relay applies into its own database");
    }

    @Test
    void relaysStartAfterWhatTheyConnectToIsHealthy() {
        for (String relay : relayServices()) {
            RelayConfig config = load(relay);
            Map<String, Object> dependsOn = map(service(relay).get("depends_on"));
            for (String url : List.of(config.upstream().url(), config.downstream().url())) {
                String host = jdbc(url).group(1);
                assertTrue(services().containsKey(host), relay + ": " + url + " names no service of the file");
                assertNotNull(dependsOn.get(host), relay + " does not depend on " + host);
                assertEquals("service_healthy", string(map(dependsOn.get(host)).get("condition")),
                        relay + " must wait for " + host + " to be healthy");
                assertNotNull(service(host).get("healthcheck"), host + " has no healthcheck");
            }
        }
    }

    @Test
    void postgresUpstreamsRunWithLogicalWal() {
        for (String relay : relayServices()) {
            String host = jdbc(load(relay).upstream().url()).group(1);
            if (relayServices().contains(host)) {
                continue; // a feed, not a server
            }
            assertTrue(list(service(host).get("command")).contains("wal_level=logical"),
                    host + " is read by " + relay + " and needs -c wal_level=logical");
        }
    }

    @Test
    void stopGracePeriodOutlastsShutdownTimeout() {
        for (String relay : relayServices()) {
            Object grace = service(relay).get("stop_grace_period");
            assertNotNull(grace, relay + ": no stop_grace_period (Docker's default 10s is below shutdown.timeout)");
            Duration shutdown = load(relay).shutdownTimeout();
            assertTrue(Durations.parse(string(grace)).compareTo(shutdown) > 0,
                    relay + ": stop_grace_period " + grace + " must exceed shutdown.timeout " + shutdown);
        }
    }

    @Test
    void healthChecksAndPrometheusUseEachRelaysHttpPort() throws IOException {
        Map<String, Object> prometheus = MiniYaml.parse(Files.readString(COMPOSE_DIR.resolve("prometheus.yml")));
        List<String> targets = new ArrayList<>();
        for (Object job : list(prometheus.get("scrape_configs"))) {
            for (Object group : list(map(job).get("static_configs"))) {
                list(map(group).get("targets")).forEach(target -> targets.add(string(target)));
            }
        }
        for (String relay : relayServices()) {
            String listen = load(relay).httpListen();
            assertFalse(listen.isEmpty(), relay + ": http.listen is off, so /health cannot answer");
            int port = HostPort.parse(listen).port();
            String test = String.join(" ", list(map(service(relay).get("healthcheck")).get("test")).stream()
                    .map(ComposeConfigTest::string).toList());
            assertTrue(test.contains("http://127.0.0.1:" + port + "/health"), relay + ": healthcheck " + test);
            assertTrue(targets.contains(relay + ":" + port), "Prometheus does not scrape " + relay + ":" + port);
        }
    }

    @Test
    void prometheusLoadsTheAlertRulesFromConfPrometheus() throws IOException {
        Map<String, Object> prometheus = MiniYaml.parse(Files.readString(COMPOSE_DIR.resolve("prometheus.yml")));
        List<String> ruleFiles = list(prometheus.get("rule_files")).stream().map(ComposeConfigTest::string).toList();
        assertEquals(List.of("/etc/prometheus/rules/pgrelay-alerts.yml"), ruleFiles);
        List<String> volumes = list(service("prometheus").get("volumes")).stream().map(ComposeConfigTest::string).toList();
        assertTrue(volumes.contains("../prometheus:/etc/prometheus/rules:ro"),
                "conf/prometheus must be mounted at /etc/prometheus/rules: " + volumes);
    }

    @Test
    void initScriptsShareTheSchemaAndCreateTheRolesTheRelaysUse() throws IOException {
        String root = initScript("root");
        String downstream = initScript("db1");
        assertEquals(initScript("db2"), downstream, "db1 and db2 start alike");
        assertEquals(createTables(root), createTables(downstream), "root and downstream tables differ");
        assertFalse(createTables(root).isEmpty(), "no CREATE TABLE in the root's init script");

        RelayConfig a = load("relay-a");
        for (String publication : a.publications()) {
            assertTrue(root.contains("CREATE PUBLICATION " + publication + " "), "root creates no publication " + publication);
        }
        assertTrue(root.contains("CREATE ROLE " + a.upstream().user() + " LOGIN REPLICATION"),
                "root creates no replication role " + a.upstream().user());
        for (String relay : relayServices()) {
            String host = jdbc(load(relay).downstream().url()).group(1);
            assertTrue(initScript(host).contains("CREATE ROLE " + load(relay).downstream().user() + " LOGIN"),
                    host + " creates no role " + load(relay).downstream().user());
        }
        for (String server : List.of("root", "db1", "db2")) {
            Matcher read = Pattern.compile("pg_read_file\\('" + SECRETS_MOUNT + "([a-z_]+)'\\)").matcher(initScript(server));
            while (read.find()) {
                assertTrue(list(service(server).get("secrets")).contains(read.group(1)),
                        server + "'s init script reads secret " + read.group(1) + " that the service does not mount");
            }
        }
    }

    // --- the compose model ------------------------------------------------------------------

    /** Services built from the repository's Dockerfile, in file order. */
    private static List<String> relayServices() {
        List<String> relays = new ArrayList<>();
        services().forEach((name, definition) -> {
            Object build = map(definition).get("build");
            if (build != null && "Dockerfile".equals(map(build).get("dockerfile"))) {
                relays.add(name);
            }
        });
        return relays;
    }

    private static Map<String, Object> services() {
        return map(compose.get("services"));
    }

    private static Map<String, Object> service(String name) {
        Object definition = services().get(name);
        assertNotNull(definition, "no service " + name + " in " + COMPOSE);
        return map(definition);
    }

    private static Map<String, String> environment(String name) {
        Map<String, String> env = new LinkedHashMap<>();
        map(service(name).get("environment")).forEach((key, value) -> env.put(key, string(value)));
        return env;
    }

    /** The image's ENV, overridden by the service's environment, as the container sees them. */
    private static Map<String, String> containerEnv(String relay) {
        Map<String, String> env = new HashMap<>(imageEnv);
        env.putAll(environment(relay));
        return env;
    }

    private static RelayConfig load(String relay) {
        return ConfigLoader.fromPropertiesWithWarnings(new Properties(),
                withLocalSecretFiles(relay, containerEnv(relay))).config();
    }

    /** {@code /run/secrets/NAME} becomes the secret's file here, so the loader can read it. */
    private static Map<String, String> withLocalSecretFiles(String relay, Map<String, String> env) {
        Map<String, String> local = new HashMap<>(env);
        env.forEach((variable, value) -> {
            if (variable.endsWith("_FILE")) {
                String secret = secretName(relay, variable, value);
                String file = string(map(map(compose.get("secrets")).get(secret)).get("file"));
                local.put(variable, COMPOSE_DIR.resolve(file).toAbsolutePath().toString());
            }
        });
        return local;
    }

    private static String secretName(String relay, String variable, String value) {
        assertTrue(value.startsWith(SECRETS_MOUNT), relay + ": " + variable + "=" + value + " is not a compose secret");
        return value.substring(SECRETS_MOUNT.length());
    }

    private static Set<String> keyVariables() {
        Set<String> names = new TreeSet<>();
        for (KeySpec key : ConfigKeys.all()) {
            names.add(key.envName());
            names.add(key.fileEnvName());
        }
        return names;
    }

    private static String initScript(String server) throws IOException {
        for (Object volume : list(service(server).get("volumes"))) {
            String[] parts = string(volume).split(":");
            if (parts[1].startsWith("/docker-entrypoint-initdb.d/")) {
                Path script = COMPOSE_DIR.resolve(parts[0]);
                assertTrue(Files.isRegularFile(script), server + ": init script " + script + " is missing");
                return Files.readString(script);
            }
        }
        return fail(server + " mounts no init script");
    }

    /** The CREATE TABLE statements, whitespace normalised. */
    private static List<String> createTables(String sql) {
        List<String> tables = new ArrayList<>();
        Matcher create = Pattern.compile("CREATE TABLE[^;]*;").matcher(sql);
        while (create.find()) {
            tables.add(create.group().replaceAll("\\s+", " "));
        }
        return tables;
    }

    private static Matcher jdbc(String url) {
        Matcher matcher = JDBC.matcher(url);
        assertTrue(matcher.matches(), "not jdbc:postgresql://host:port/db: " + url);
        return matcher;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object value) {
        assertTrue(value instanceof Map, "expected a mapping, found " + value);
        return (Map<String, Object>) value;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object value) {
        assertTrue(value instanceof List, "expected a sequence, found " + value);
        return (List<Object>) value;
    }

    private static String string(Object value) {
        assertTrue(value instanceof String, "expected a scalar, found " + value);
        return (String) value;
    }
}
