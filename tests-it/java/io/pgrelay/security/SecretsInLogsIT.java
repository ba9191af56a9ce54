package io.pgrelay.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.Eventually;
import io.pgrelay.it.ReplicationPair;
import io.pgrelay.process.RelayProcess;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.PGProperty;

/**
 * No password in anything a relay shows: its complete output (stdout and stderr) over a run
 * through start, streaming, an upstream restart and reconnect, a feed client with a wrong
 * password, an upstream password that changed under it (exit 1), plus what /metrics, /status and
 * {@code pgrelay status} print while it runs. Each password is given a different way: in the
 * config file, inside the downstream JDBC URL, in the environment, in a password file.
 */
@Timeout(240)
class SecretsInLogsIT {

    private static final String UP_ROLE = "leak_up";
    private static final String UP_PASSWORD = "Up-Pw-7f3a9c1e";
    private static final String UP_NEW_PASSWORD = "Up-New-Pw-52b8d0";
    private static final String DOWN_ROLE = "leak_down";
    private static final String DOWN_PASSWORD = "Down-Pw-e41c77aa";
    private static final String FEED_PASSWORD = "Feed-Pw-90d2fe13";
    private static final String WRONG_PASSWORD = "Wrong-Pw-3c6b11f0";
    private static final List<String> SECRETS = List.of(UP_PASSWORD, UP_NEW_PASSWORD, DOWN_PASSWORD, FEED_PASSWORD, WRONG_PASSWORD);

    @Test
    void noPasswordAppearsInLogsMetricsOrStatus() throws Exception {
        Path runDir = RelayProcess.jar().getParent().resolve("relay-processes").resolve("SecretsInLogsIT-" + System.currentTimeMillis());
        Files.createDirectories(runDir);
        List<String> shown = new ArrayList<>();
        try (ReplicationPair pair = ReplicationPair.start("leak")) {
            pair.schema("CREATE TABLE items (id int PRIMARY KEY, v text)");
            pair.upstream("CREATE PUBLICATION leak_pub FOR TABLE items",
                    "CREATE ROLE " + UP_ROLE + " LOGIN REPLICATION PASSWORD '" + UP_PASSWORD + "'",
                    "GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + UP_ROLE);
            pair.downstream("CREATE ROLE " + DOWN_ROLE + " LOGIN PASSWORD '" + DOWN_PASSWORD + "'",
                    "GRANT CREATE ON DATABASE " + ReplicationPair.DB + " TO " + DOWN_ROLE,
                    "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO " + DOWN_ROLE);
            Path feedPasswordFile = Files.writeString(runDir.resolve("feed.pw"), FEED_PASSWORD + "\n");
            int feedPort = freePort();
            int httpPort = freePort();
            Properties config = pair.properties("leak_slot", "leak_pub");
            config.setProperty("upstream.user", UP_ROLE);
            config.setProperty("upstream.password", UP_PASSWORD);
            config.setProperty("downstream.user", DOWN_ROLE);
            config.remove("downstream.password");
            config.setProperty("downstream.url", pair.downstream.jdbcUrl(ReplicationPair.DB) + "?password=" + DOWN_PASSWORD
                    + "&ApplicationName=leak");
            config.setProperty("feed.listen", "127.0.0.1:" + feedPort);
            config.setProperty("feed.user", "child");
            config.setProperty("http.listen", "127.0.0.1:" + httpPort);
            config.setProperty("data.dir", runDir.resolve("data").toString());
            config.setProperty("retry.initial-backoff", "100ms");
            config.setProperty("retry.max-backoff", "1s");
            RelayProcess relay = RelayProcess.start("leak", runDir, config, Map.of("PGRELAY_FEED_PASSWORD_FILE", feedPasswordFile.toString()));
            try {
                // Start and stream.
                assertTrue(relay.awaitLog("streaming slot leak_slot", Duration.ofSeconds(60)), "relay did not stream:\n" + relay.log());
                pair.upstream("INSERT INTO items VALUES (1, 'one')");
                Eventually.assertReplicated(pair, "SELECT * FROM items ORDER BY id", Duration.ofSeconds(30));

                // A reconnect: the upstream restarts under the relay.
                pair.upstream.restart();
                pair.upstream("INSERT INTO items VALUES (2, 'after restart')");
                Eventually.assertReplicated(pair, "SELECT * FROM items ORDER BY id", Duration.ofSeconds(60));
                assertTrue(relay.log().contains("reconnecting"), "no reconnect seen:\n" + relay.log());

                // A feed client with a wrong password.
                Properties wrong = new Properties();
                PGProperty.USER.set(wrong, "child");
                PGProperty.PASSWORD.set(wrong, WRONG_PASSWORD);
                PGProperty.REPLICATION.set(wrong, "database");
                PGProperty.ASSUME_MIN_SERVER_VERSION.set(wrong, "10");
                PGProperty.PREFER_QUERY_MODE.set(wrong, "simple");
                SQLException refused = assertThrows(SQLException.class, () -> DriverManager.getConnection(
                        "jdbc:postgresql://127.0.0.1:" + feedPort + "/" + ReplicationPair.DB, wrong).close());
                assertEquals("28P01", refused.getSQLState(), refused.getMessage());

                // What the relay shows while it runs.
                shown.add(get("http://127.0.0.1:" + httpPort + "/metrics"));
                shown.add(get("http://127.0.0.1:" + httpPort + "/status"));
                shown.add(get("http://127.0.0.1:" + httpPort + "/status?format=text"));
                RelayProcess.Result status = RelayProcess.runCommand(runDir, Duration.ofSeconds(30), Map.of("PGRELAY_FEED_PASSWORD_FILE", feedPasswordFile.toString()), "status", "-c",
                        relay.dir().resolve("relay.properties").toString());
                assertEquals(0, status.exitCode(), status.toString());
                shown.add(status.output());

                // An authentication failure of the relay itself: the upstream password changes under it.
                pair.upstream("ALTER ROLE " + UP_ROLE + " PASSWORD '" + UP_NEW_PASSWORD + "'",
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_replication WHERE usename = '" + UP_ROLE + "'");
                assertEquals(1, relay.waitFor(Duration.ofSeconds(60)), "exit 1 on a refused password:\n" + relay.log());
                assertTrue(relay.log().contains("28P01"), "the auth failure is logged:\n" + relay.log());
            } finally {
                relay.close();
            }
            shown.add(relay.log());
            String all = String.join("\n", shown);
            for (String secret : SECRETS) {
                assertFalse(all.contains(secret), "password #" + SECRETS.indexOf(secret) + " appears in the output:\n"
                        + all.replace(secret, "<LEAKED PASSWORD>"));
            }
            System.out.printf("secrets: %d passwords, none found in %d characters of relay output, /metrics, /status and "
                    + "'pgrelay status' (%d log lines)%n", SECRETS.size(), all.length(), relay.logLines().size());
        }
    }

    private static String get(String url) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), url + ": " + response.body());
        return response.body();
    }

    private static int freePort() throws Exception {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
