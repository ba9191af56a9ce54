package io.pgrelay.schema;

import static io.pgrelay.it.Eventually.assertSameRows;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.it.PgCluster;
import io.pgrelay.it.RelayRunner;
import io.pgrelay.it.TypeZoo;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Bootstrap and drift down a chain: root → R1 → R2. R1 creates its tables from the root's
 * catalog; R2's upstream is R1's feed, which has no catalog, so R2's downstream is bootstrapped
 * from R1's downstream (what the initial sync does) and R2 with schema.create=true must only
 * warn. User types have other oids at every tier: the Type messages relayed by the feed name
 * them, so a column of a user type added on the root reaches both tiers.
 */
@Timeout(240)
class SchemaChainIT {

    private static final String DB = "app";
    private static final Duration CATCH_UP = Duration.ofSeconds(60);
    private static final String SCHEMA = """
            CREATE SCHEMA shop;
            CREATE TYPE shop.size AS ENUM ('s', 'm', 'l');
            CREATE TABLE shop.items (id int PRIMARY KEY, name text NOT NULL, size shop.size);
            CREATE PUBLICATION chain FOR ALL TABLES;
            """;
    private static PgCluster root;
    private static PgCluster d1;
    private static PgCluster d2;
    private static Path dataDirs;

    @BeforeAll
    static void start() throws Exception {
        root = PgCluster.builder("schema-chain-root").start();
        d1 = PgCluster.builder("schema-chain-d1").start();
        d2 = PgCluster.builder("schema-chain-d2").start();
        for (PgCluster cluster : List.of(root, d1, d2)) {
            cluster.createDatabase(DB);
        }
        // Other oids for user types at each tier: types the root does not have, created first.
        d1.execute(DB, "CREATE TYPE pad1 AS ENUM ('x')");
        d2.execute(DB, "CREATE TYPE pad1 AS ENUM ('x')", "CREATE TYPE pad2 AS ENUM ('x')", "CREATE TYPE pad3 AS ENUM ('x')");
        root.execute(DB, TypeZoo.TYPES, SCHEMA);
        dataDirs = Files.createTempDirectory("pgrelay-schema-chain");
    }

    @AfterAll
    static void stop() {
        for (PgCluster cluster : new PgCluster[] {d2, d1, root}) {
            if (cluster != null) {
                cluster.close();
            }
        }
    }

    @Test
    void tablesAndAddedColumnsReachEveryTier() throws Exception {
        int feedPort = freePort();
        try (RelayRunner r1 = RelayRunner.start(config("r1", root.jdbcUrl(DB), root.user(), root.password(), d1, feedPort))) {
            r1.awaitStreaming(Duration.ofSeconds(60));
            List<TableName> tables;
            try (Connection parentDownstream = d1.connect(DB); Connection child = d2.connect(DB)) {
                tables = List.of(new TableName("public", "zoo"), new TableName("shop", "items"));
                assertTrue(SchemaBootstrap.bootstrap(parentDownstream, child, tables).contains("table shop.items"));
            }
            try (RelayRunner r2 = RelayRunner.start(config("r2", "jdbc:postgresql://127.0.0.1:" + feedPort + "/" + DB,
                    "child", "feed-secret", d2, 0))) {
                r2.awaitStreaming(Duration.ofSeconds(60));
                root.execute(DB, TypeZoo.workload());
                root.execute(DB, "INSERT INTO shop.items VALUES (1, 'cap', 's'), (2, 'coat', NULL)");
                root.execute(DB, "ALTER TABLE shop.items ADD COLUMN colour shop.size, ADD COLUMN sizes shop.size[]",
                        "INSERT INTO shop.items VALUES (3, 'hat', 'm', 'l', '{s,l}')",
                        "UPDATE shop.items SET colour = 's' WHERE id = 1");
                for (PgCluster tier : List.of(d1, d2)) {
                    for (String q : List.of(TypeZoo.SELECT, "SELECT items::text FROM shop.items ORDER BY id")) {
                        assertSameRows(() -> root.query(DB, q), () -> tier.query(DB, q), CATCH_UP, tier.name() + ": " + q);
                    }
                    assertEquals(List.of(List.of("shop.size"), List.of("shop.size[]")), tier.query(DB,
                            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'shop.items'::regclass "
                                    + "AND attname IN ('colour', 'sizes') ORDER BY attnum"), tier.name());
                }
                assertFalse(r1.hasExited() || r2.hasExited(), "a relay stopped: " + r1.failure() + " / " + r2.failure());
            }
        }
    }

    private static RelayConfig config(String name, String upstreamUrl, String user, String password, PgCluster downstream,
                                      int feedPort) {
        Properties p = new Properties();
        p.setProperty("upstream.url", upstreamUrl);
        p.setProperty("upstream.user", user);
        p.setProperty("upstream.password", password);
        p.setProperty("upstream.slot", "to_" + name);
        p.setProperty("upstream.publications", "chain");
        p.setProperty("upstream.status-interval", "1s");
        p.setProperty("downstream.url", downstream.jdbcUrl(DB));
        p.setProperty("downstream.user", downstream.user());
        p.setProperty("downstream.password", downstream.password());
        p.setProperty("schema.create", "true");
        p.setProperty("schema.add-columns", "true");
        if (feedPort != 0) {
            p.setProperty("feed.listen", "127.0.0.1:" + feedPort);
            p.setProperty("feed.user", "child");
            p.setProperty("feed.password", "feed-secret");
        }
        p.setProperty("data.dir", dataDirs.resolve(name).toString());
        p.setProperty("retry.initial-backoff", "100ms");
        p.setProperty("retry.max-backoff", "1s");
        return ConfigLoader.fromProperties(p, Map.of());
    }

    private static int freePort() throws Exception {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
