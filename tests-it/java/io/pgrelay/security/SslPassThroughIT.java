package io.pgrelay.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.config.ConfigLoader;
import io.pgrelay.embedded.ServerUser;
import io.pgrelay.embedded.TreeDeletion;
import io.pgrelay.feed.clients.TestCertificates;
import io.pgrelay.it.Eventually;
import io.pgrelay.it.PgCluster;
import io.pgrelay.it.RelayRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * sslmode in upstream.url and downstream.url reaches pgjdbc unchanged: against servers with
 * ssl=on and a certificate made for the test, verify-full (upstream) and require (downstream)
 * work and the server sees encrypted connections; asking for SSL from a server without it, or
 * verifying against the wrong CA, stops the relay with exit 1 and a line that says what to fix.
 */
@Timeout(180)
class SslPassThroughIT {

    private static final String DB = "app";
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static Path work;
    private static TestCertificates.Pair serverCert;
    private static TestCertificates.Pair otherCa;
    private static PgCluster up;
    private static PgCluster down;
    private static PgCluster plain;

    @BeforeAll
    static void start() throws Exception {
        work = Files.createTempDirectory("pgrelay-ssl");
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        serverCert = certificate("server");
        otherCa = certificate("other");
        up = sslCluster("ssl-up");
        down = sslCluster("ssl-down");
        plain = PgCluster.builder("ssl-plain").start();
        for (PgCluster cluster : List.of(up, down, plain)) {
            cluster.createDatabase(DB);
            cluster.execute(DB, "CREATE TABLE t (id int PRIMARY KEY, v text)");
        }
        up.execute(DB, "CREATE PUBLICATION ssl_pub FOR TABLE t");
    }

    @AfterAll
    static void stop() throws Exception {
        for (PgCluster cluster : new PgCluster[] {up, down, plain}) {
            if (cluster != null) {
                cluster.close();
            }
        }
        if (work != null) {
            TreeDeletion.deleteIfExists(work);
        }
    }

    /** A certificate the server account can read (the key must be its own, mode 0600, or PostgreSQL refuses it). */
    private static TestCertificates.Pair certificate(String name) throws Exception {
        Path dir = Files.createDirectories(work.resolve(name));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        TestCertificates.Pair pair = TestCertificates.generate(dir);
        Files.setPosixFilePermissions(pair.certificate(), PosixFilePermissions.fromString("rw-r--r--"));
        Files.setPosixFilePermissions(pair.key(), PosixFilePermissions.fromString("rw-------"));
        ServerUser.current().takeOwnership(pair.key());
        return pair;
    }

    private static PgCluster sslCluster(String name) {
        return PgCluster.builder(name).setting("ssl", "on")
                .setting("ssl_cert_file", serverCert.certificate().toString())
                .setting("ssl_key_file", serverCert.key().toString()).start();
    }

    private static RelayRunner relay(String slot, String upstreamUrl, String downstreamUrl) {
        Properties p = new Properties();
        p.setProperty("upstream.url", upstreamUrl);
        p.setProperty("upstream.user", up.user());
        p.setProperty("upstream.password", up.password());
        p.setProperty("upstream.slot", slot);
        p.setProperty("upstream.publications", "ssl_pub");
        p.setProperty("downstream.url", downstreamUrl);
        p.setProperty("downstream.user", down.user());
        p.setProperty("downstream.password", down.password());
        p.setProperty("retry.initial-backoff", "100ms");
        p.setProperty("retry.max-backoff", "1s");
        return RelayRunner.start(ConfigLoader.fromProperties(p, Map.of()));
    }

    @Test
    void verifyFullUpstreamAndRequireDownstreamWorkEncrypted() throws Exception {
        String upstreamUrl = up.jdbcUrl(DB) + "?sslmode=verify-full&sslrootcert=" + serverCert.certificate();
        String downstreamUrl = down.jdbcUrl(DB) + "?sslmode=require";
        try (RelayRunner relay = relay("ssl_ok", upstreamUrl, downstreamUrl)) {
            relay.awaitStreaming(WAIT);
            up.execute(DB, "INSERT INTO t VALUES (1, 'over tls')");
            Eventually.assertSameRows(() -> List.of(List.of("over tls")), () -> down.query(DB, "SELECT v FROM t WHERE id = 1"),
                    WAIT, "the row over TLS");
            assertEquals(List.of(List.of("true")), up.query(DB, "SELECT bool_and(s.ssl)::text FROM pg_stat_ssl s "
                    + "JOIN pg_stat_activity a USING (pid) WHERE a.backend_type = 'walsender'"), "the walsender's connection is TLS");
            assertEquals(List.of(List.of("true")), down.query(DB, "SELECT (bool_and(s.ssl) AND count(*) > 0)::text FROM pg_stat_ssl s "
                    + "JOIN pg_stat_activity a USING (pid) WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid() "
                    + "AND a.datname = 'app'"), "every downstream pool connection is TLS");
        }
    }

    @Test
    void requiringSslFromAServerWithoutItStopsWithAClearLine() throws Exception {
        try (RelayRunner relay = relay("ssl_plain", up.jdbcUrl(DB), plain.jdbcUrl(DB) + "?sslmode=require")) {
            assertEquals(1, relay.awaitExit(WAIT), "exit 1: waiting cannot fix it");
            String failure = relay.failure();
            assertNotNull(failure);
            System.out.println("sslmode=require against a server without SSL: " + failure);
            assertTrue(failure.startsWith("downstream failure") && failure.contains("does not support SSL")
                    && failure.contains("sslmode in downstream.url"), failure);
        }
    }

    @Test
    void verifyingAgainstTheWrongCaStopsWithAClearLine() throws Exception {
        String upstreamUrl = up.jdbcUrl(DB) + "?sslmode=verify-full&sslrootcert=" + otherCa.certificate();
        try (RelayRunner relay = relay("ssl_wrong_ca", upstreamUrl, down.jdbcUrl(DB))) {
            assertEquals(1, relay.awaitExit(WAIT), "exit 1: waiting cannot fix it");
            String failure = relay.failure();
            assertNotNull(failure);
            System.out.println("verify-full against the wrong CA: " + failure);
            assertTrue(failure.startsWith("upstream failure") && failure.contains("sslrootcert"), failure);
        }
    }
}
