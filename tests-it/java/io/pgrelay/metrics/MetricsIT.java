package io.pgrelay.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.it.PgCluster;
import io.pgrelay.relay.Relay;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Scrapes /metrics of a chain root → A → B during a workload and while idle: lag series exist,
 * move and come back; heartbeats keep end-to-end lag small at both tiers; /ready follows the
 * upstream; the scrape cost with 50 tables and 5 feed slots is printed.
 */
@Timeout(240)
class MetricsIT {

    private static final String DB = "app";
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static PgCluster root;
    private static PgCluster downA;
    private static PgCluster downB;
    private static Path dataDirs;

    @BeforeAll
    static void start() throws Exception {
        root = PgCluster.builder("metrics-root").start();
        downA = PgCluster.builder("metrics-a").start();
        downB = PgCluster.builder("metrics-b").start();
        StringBuilder schema = new StringBuilder();
        for (int i = 0; i < 50; i++) {
            schema.append("CREATE TABLE t").append(i).append(" (id int PRIMARY KEY, v text);");
        }
        for (PgCluster c : List.of(root, downA, downB)) {
            c.createDatabase(DB);
            c.execute(DB, schema.toString());
        }
        root.execute(DB, "CREATE PUBLICATION pub FOR ALL TABLES");
        dataDirs = Files.createTempDirectory("pgrelay-metrics");
    }

    @AfterAll
    static void stop() {
        for (PgCluster c : new PgCluster[] {downB, downA, root}) {
            if (c != null) {
                c.close();
            }
        }
    }

    /** A relay with an HTTP endpoint on a free port, running on its own thread. */
    private static final class Running implements AutoCloseable {
        final Relay relay;
        final Observability observability;
        final CompletableFuture<Integer> exit = new CompletableFuture<>();

        Running(RelayConfig config) throws Exception {
            observability = new Observability();
            relay = new Relay(config, observability.listener());
            observability.start(relay, config);
            Thread thread = new Thread(() -> {
                try {
                    exit.complete(relay.run());
                } catch (Throwable t) {
                    exit.completeExceptionally(t);
                }
            }, "metrics-it-" + config.relayName());
            thread.setDaemon(true);
            thread.start();
        }

        String get(String path) throws Exception {
            return response(path).body();
        }

        HttpResponse<String> response(String path) throws Exception {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + observability.httpPort() + path))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        }

        double metric(String name) throws Exception {
            Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + " (\\S+)$").matcher(get("/metrics"));
            assertTrue(m.find(), name + " missing from /metrics");
            return Double.parseDouble(m.group(1));
        }

        @Override
        public void close() throws Exception {
            relay.requestStop();
            assertEquals(0, exit.get(30, TimeUnit.SECONDS), "relay stopped cleanly");
            observability.close();
        }
    }

    private static RelayConfig config(String name, String upstreamUrl, String user, String password, PgCluster down,
                                      int feedPort) {
        Properties p = new Properties();
        p.setProperty("relay.name", name);
        p.setProperty("upstream.url", upstreamUrl);
        p.setProperty("upstream.user", user);
        p.setProperty("upstream.password", password);
        p.setProperty("upstream.slot", name);
        p.setProperty("upstream.publications", "pub");
        p.setProperty("upstream.status-interval", "1s");
        p.setProperty("downstream.url", down.jdbcUrl(DB));
        p.setProperty("downstream.user", down.user());
        p.setProperty("downstream.password", down.password());
        p.setProperty("http.listen", "127.0.0.1:0");
        p.setProperty("heartbeat.interval", "500ms");
        p.setProperty("retry.initial-backoff", "100ms");
        p.setProperty("retry.max-backoff", "500ms");
        if (feedPort > 0) {
            p.setProperty("feed.listen", "127.0.0.1:" + feedPort);
            p.setProperty("feed.user", "child");
            p.setProperty("feed.password", "metrics-feed-pw");
            p.setProperty("data.dir", dataDirs.resolve(name).toString());
        }
        return ConfigLoader.fromProperties(p, Map.of());
    }

    private static int freePort() throws Exception {
        try (var socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** Runs {@code pgrelay status --url …} as its own process and returns what it printed. */
    private static String status(Running relay, boolean json) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "io.pgrelay.cli.Main", "status",
                "--url", "http://127.0.0.1:" + relay.observability.httpPort()));
        if (json) {
            command.add("--json");
        }
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "status did not exit");
        assertEquals(0, process.exitValue(), output);
        return output;
    }

    private static void await(String what, Duration timeout, Check check) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!check.ok()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(100);
        }
    }

    @FunctionalInterface
    private interface Check {
        boolean ok() throws Exception;
    }

    @Test
    void lagIsVisibleAtEveryTierAndHeartbeatsKeepItHonest() throws Exception {
        int feedPort = freePort();
        try (Running a = new Running(config("tier_a", root.jdbcUrl(DB), root.user(), root.password(), downA, feedPort))) {
            await("A ready", Duration.ofSeconds(30), () -> a.response("/ready").statusCode() == 200);
            try (Running b = new Running(config("tier_b", "jdbc:postgresql://127.0.0.1:" + feedPort + "/" + DB, "child",
                    "metrics-feed-pw", downB, 0))) {
                await("B ready", Duration.ofSeconds(30), () -> b.response("/ready").statusCode() == 200);
                assertEquals("ok\n", a.get("/health"));
                for (int i = 0; i < 5; i++) {
                    a.relay.feed().slots().create("idle_slot_" + i, a.relay.feed().currentPosition(), false);
                }

                // Workload: the downstream is slowed by a lock so apply lag becomes visible.
                List<Double> lagSeen = new ArrayList<>();
                try (var lock = downA.connect(DB)) {
                    lock.setAutoCommit(false);
                    lock.createStatement().execute("LOCK TABLE t0 IN ACCESS EXCLUSIVE MODE");
                    root.execute(DB, "INSERT INTO t0 SELECT g, 'x' FROM generate_series(1, 5000) g");
                    await("A's apply lag grows", Duration.ofSeconds(20), () -> {
                        lagSeen.add(a.metric("pgrelay_apply_lag_bytes"));
                        return lagSeen.get(lagSeen.size() - 1) > 0;
                    });
                    lock.rollback();
                }
                await("A catches up", Duration.ofSeconds(30), () -> a.metric("pgrelay_apply_lag_bytes") == 0);
                await("B catches up", Duration.ofSeconds(30), () -> downB.query(DB, "SELECT count(*) FROM t0").get(0).get(0).equals("5000"));
                assertTrue(a.get("/metrics").contains("pgrelay_rows_applied_total{operation=\"insert\",table=\"public.t0\"} 5000.0"),
                        "rows by table and operation");

                // Idle: no user writes for a while; heartbeats keep end-to-end lag small at both tiers.
                Thread.sleep(4000);
                double lagA = a.metric("pgrelay_end_to_end_lag_seconds");
                double lagB = b.metric("pgrelay_end_to_end_lag_seconds");
                System.out.printf("idle end-to-end lag: A %.3f s, B %.3f s (heartbeat every 0.5 s)%n", lagA, lagB);
                assertTrue(lagA < 3, "A end-to-end lag " + lagA);
                assertTrue(lagB < 3, "B end-to-end lag " + lagB + ": heartbeats must pass through the feed");
                assertTrue(a.metric("pgrelay_upstream_slot_retained_wal_bytes") >= 0);
                assertTrue(a.get("/metrics").contains("pgrelay_feed_slot_lag_bytes{slot=\"idle_slot_4\"}"));

                // Scrape cost with 50 tables and 5 (+1) feed slots.
                int scrapes = 50;
                long bytes = 0;
                long started = System.nanoTime();
                for (int i = 0; i < scrapes; i++) {
                    bytes += a.get("/metrics").getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
                }
                double millis = (System.nanoTime() - started) / 1e6 / scrapes;
                System.out.printf("scrape cost: %.2f ms and %d bytes per scrape (50 tables, %d feed slots)%n",
                        millis, bytes / scrapes, a.relay.feed().slots().all().size());

                // pgrelay status, text and JSON, as an operator runs it.
                String screen = status(a, false);
                System.out.print(screen);
                assertTrue(screen.contains("checkpoint") && screen.contains("idle_slot_4") && screen.contains("tier_a  streaming"), screen);
                assertTrue(!screen.contains(" 0/0 "), "a slot created on a running relay starts at its current position: " + screen);
                assertTrue(status(a, true).contains("\"relay\":\"tier_a\""), "status --json");

                // /ready follows the upstream.
                root.stop();
                try {
                    await("A not ready while the root is down", Duration.ofSeconds(30),
                            () -> a.response("/ready").statusCode() == 503);
                    assertEquals(200, a.response("/health").statusCode(), "alive while reconnecting");
                } finally {
                    root.start();
                }
                await("A ready again", Duration.ofSeconds(60), () -> a.response("/ready").statusCode() == 200);
                assertTrue(a.metric("pgrelay_upstream_reconnects_total") >= 1);
            }
        }
    }
}
