package io.pgrelay.feed;

import static io.pgrelay.it.Eventually.assertSameRows;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.it.PgCluster;
import io.pgrelay.it.RelayRunner;
import io.pgrelay.it.TypeZoo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Relays chained through their feeds: root → R1 → R2 → R3, each applying to its own database:
 * the type zoo, 10,000 pgbench-shaped transactions, key changes and a truncate arrive equal at
 * every tier.
 */
@Timeout(180)
class ChainIT {

    static final String DB = "app";
    static final String SCHEMA = """
            CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL, note text);
            CREATE TABLE tellers (id int PRIMARY KEY, balance bigint NOT NULL);
            CREATE TABLE branches (id int PRIMARY KEY, balance bigint NOT NULL);
            CREATE TABLE history (id bigserial PRIMARY KEY, account int, delta int, at timestamptz DEFAULT now());
            CREATE TYPE color AS ENUM ('red', 'green');
            CREATE TABLE misc (k text PRIMARY KEY, c color, j jsonb, a int[], big text)
            """;
    private static final Duration CATCH_UP = Duration.ofSeconds(60);
    private static PgCluster root;
    private static PgCluster[] downstreams = new PgCluster[3];
    private static Path dataDirs;

    @BeforeAll
    static void start() throws Exception {
        root = PgCluster.builder("chain-root").start();
        root.createDatabase(DB);
        root.execute(DB, SCHEMA, TypeZoo.TYPES, "CREATE PUBLICATION chain FOR ALL TABLES");
        for (int i = 0; i < downstreams.length; i++) {
            downstreams[i] = PgCluster.builder("chain-d" + (i + 1)).start();
            downstreams[i].createDatabase(DB);
            downstreams[i].execute(DB, SCHEMA, TypeZoo.TYPES);
        }
        dataDirs = Files.createTempDirectory("pgrelay-chain");
    }

    @AfterAll
    static void stop() {
        for (PgCluster d : downstreams) {
            if (d != null) {
                d.close();
            }
        }
        if (root != null) {
            root.close();
        }
    }

    /** A relay of tier {@code tier} (1-based) reading {@code upstreamUrl}, with a feed. */
    static RelayConfig tier(int tier, String upstreamUrl, String upstreamUser, String upstreamPassword, int feedPort) {
        Properties p = new Properties();
        p.setProperty("relay.name", "r" + tier);
        p.setProperty("upstream.url", upstreamUrl);
        p.setProperty("upstream.user", upstreamUser);
        p.setProperty("upstream.password", upstreamPassword);
        p.setProperty("upstream.slot", "to_r" + tier);
        p.setProperty("upstream.publications", "chain");
        p.setProperty("upstream.status-interval", "1s");
        p.setProperty("downstream.url", downstreams[tier - 1].jdbcUrl(DB));
        p.setProperty("downstream.user", downstreams[tier - 1].user());
        p.setProperty("downstream.password", downstreams[tier - 1].password());
        p.setProperty("feed.listen", "127.0.0.1:" + feedPort);
        p.setProperty("feed.user", "child");
        p.setProperty("feed.password", "feed-secret-" + tier);
        p.setProperty("data.dir", dataDirs.resolve("r" + tier).toString());
        p.setProperty("retry.initial-backoff", "100ms");
        p.setProperty("retry.max-backoff", "1s");
        return ConfigLoader.fromProperties(p, Map.of());
    }

    static int freePort() throws Exception {
        try (var socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    @Test
    void threeTiersEqualTheRoot() throws Exception {
        int[] ports = {freePort(), freePort(), freePort()};
        try (RelayRunner r1 = RelayRunner.start(tier(1, root.jdbcUrl(DB), root.user(), root.password(), ports[0]))) {
            r1.awaitStreaming(Duration.ofSeconds(30));
            try (RelayRunner r2 = RelayRunner.start(tier(2, "jdbc:postgresql://127.0.0.1:" + ports[0] + "/" + DB, "child",
                    "feed-secret-1", ports[1]))) {
                r2.awaitStreaming(Duration.ofSeconds(30));
                try (RelayRunner r3 = RelayRunner.start(tier(3, "jdbc:postgresql://127.0.0.1:" + ports[1] + "/" + DB, "child",
                        "feed-secret-2", ports[2]))) {
                    r3.awaitStreaming(Duration.ofSeconds(30));
                    workload();
                    for (PgCluster d : downstreams) {
                        for (String q : List.of("SELECT * FROM accounts ORDER BY id", "SELECT id, account, delta, at FROM history ORDER BY id",
                                "SELECT k, c, j, a, md5(big) FROM misc ORDER BY k", "SELECT * FROM tellers ORDER BY id",
                                "SELECT * FROM branches ORDER BY id", TypeZoo.SELECT)) {
                            assertSameRows(() -> root.query(DB, q), () -> d.query(DB, q), CATCH_UP, d.name() + ": " + q);
                        }
                    }
                    // One LSN space: every tier's checkpoint names the same root position.
                    String rootCheckpoint = downstreams[0].query(DB, "SELECT commit_time FROM pgrelay.checkpoint").get(0).get(0);
                    assertEquals(rootCheckpoint, downstreams[2].query(DB, "SELECT commit_time FROM pgrelay.checkpoint").get(0).get(0));
                }
            }
        }
    }

    /** The type zoo, then 10,000 pgbench-shaped transactions, key changes, a truncate. */
    private static void workload() throws Exception {
        root.execute(DB, TypeZoo.workload());
        root.execute(DB, "INSERT INTO accounts SELECT g, 0, 'n' || g FROM generate_series(1, 200) g",
                "INSERT INTO tellers SELECT g, 0 FROM generate_series(1, 10) g",
                "INSERT INTO branches VALUES (1, 0)",
                "INSERT INTO misc VALUES ('a', 'red', '{\"x\": [1, 2]}', '{1,NULL}', repeat(md5('x'), 500)), ('b', NULL, NULL, NULL, NULL)");
        try (var c = root.connect(DB); var s = c.createStatement()) {
            c.setAutoCommit(false);
            var rnd = new java.util.Random(7);
            for (int i = 0; i < 10_000; i++) {
                int account = 1 + rnd.nextInt(200);
                int delta = rnd.nextInt(100) - 50;
                s.addBatch("UPDATE accounts SET balance = balance + " + delta + " WHERE id = " + account);
                s.addBatch("UPDATE tellers SET balance = balance + " + delta + " WHERE id = " + (1 + rnd.nextInt(10)));
                s.addBatch("UPDATE branches SET balance = balance + " + delta + " WHERE id = 1");
                s.addBatch("INSERT INTO history (account, delta) VALUES (" + account + ", " + delta + ")");
                s.executeBatch();
                c.commit();
            }
        }
        root.execute(DB, "UPDATE accounts SET id = id + 1000 WHERE id <= 10",
                "UPDATE misc SET c = 'green' WHERE k = 'a'",
                "TRUNCATE history RESTART IDENTITY",
                "INSERT INTO history (account, delta) VALUES (1, 1), (2, 2)");
    }
}
