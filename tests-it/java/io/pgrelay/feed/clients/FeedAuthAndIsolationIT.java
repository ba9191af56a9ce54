package io.pgrelay.feed.clients;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.util.PSQLException;

/**
 * Who gets in, and that nobody else can hurt a feed: authentication failures, non-replication
 * connections, TLS, and hostile input on raw sockets. Throughout, a healthy pgjdbc client streams
 * a slot; after every attack it must still receive a fresh root change, and the relay must still
 * apply to its downstream (DESIGN.md: "Malformed input closes that session with an error and
 * never affects others").
 */
@Timeout(60)
class FeedAuthAndIsolationIT {

    private static final int MAX_CONNECTIONS = 8;
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final AtomicInteger PROBES = new AtomicInteger();
    private static Path work;
    private static TestCertificates.Pair certificates;
    private static FeedFixture fixture;
    private static StreamCollector healthy;

    @BeforeAll
    @Timeout(90)
    static void start() throws Exception {
        work = Files.createTempDirectory("pgrelay-feed-auth");
        certificates = TestCertificates.generate(work);
        RecordingSslFactory.trusted = certificates.x509();
        fixture = FeedFixture.start("isofeed", Map.of(
                "feed.tls.cert", certificates.certificate().toString(),
                "feed.tls.key", certificates.key().toString(),
                "feed.max-connections", String.valueOf(MAX_CONNECTIONS)));
        StreamCollector.createSlot(fixture, "healthy");
        healthy = StreamCollector.start(fixture, "healthy", true);
        assertUnaffected("startup");
    }

    @AfterAll
    @Timeout(60)
    static void stop() throws Exception {
        try {
            if (healthy != null) {
                healthy.close(); // fails if the healthy client broke at any point
            }
        } finally {
            try {
                if (fixture != null) {
                    fixture.close();
                }
            } finally {
                if (work != null) {
                    FeedFixture.deleteTree(work);
                }
            }
        }
    }

    /** The healthy client still streams new root changes, and the relay still applies them. */
    private static void assertUnaffected(String after) throws Exception {
        fixture.assertRelayAlive();
        healthy.assertHealthy();
        String body = "alive-" + after + "-" + PROBES.incrementAndGet();
        fixture.root.execute(FeedFixture.DB, "INSERT INTO notes (body) VALUES ('" + body + "')");
        healthy.awaitInsertedText(0, body, Duration.ofSeconds(10));
        fixture.awaitDownstream("SELECT count(*) FROM notes WHERE body = '" + body + "'", List.of(List.of("1")), WAIT);
    }

    private static Connection connect(Properties properties) throws SQLException {
        return DriverManager.getConnection(fixture.feedJdbcUrl(), properties);
    }

    private static Properties login(String user, String password) {
        return StreamCollector.replicationProperties(user, password);
    }

    private static String identifySystem(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("IDENTIFY_SYSTEM")) {
            assertTrue(rs.next());
            return rs.getString("systemid");
        }
    }

    @Test
    void wrongPasswordIsRefusedWith28P01() throws Exception {
        for (String sslmode : List.of("disable", "require")) {
            Properties p = login(FeedFixture.FEED_USER, "not-" + FeedFixture.FEED_PASSWORD);
            PGProperty.SSL_MODE.set(p, sslmode);
            PSQLException e = assertThrows(PSQLException.class, () -> connect(p).close());
            assertEquals("28P01", e.getSQLState(), "sslmode=" + sslmode + ": " + e.getMessage());
            assertTrue(e.getMessage().contains("password authentication failed"), e.getMessage());
        }
        assertUnaffected("wrong-password");
    }

    @Test
    void unknownUserIsRefusedLikeAWrongPassword() throws Exception {
        for (String password : List.of(FeedFixture.FEED_PASSWORD, "guess")) {
            PSQLException e = assertThrows(PSQLException.class, () -> connect(login("mallory", password)).close());
            assertEquals("28P01", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("password authentication failed"), e.getMessage());
        }
        assertUnaffected("unknown-user");
    }

    @Test
    void nonReplicationConnectionGetsAClearError() throws Exception {
        Properties p = login(FeedFixture.FEED_USER, FeedFixture.FEED_PASSWORD);
        p.remove(PGProperty.REPLICATION.getName());
        PSQLException e = assertThrows(PSQLException.class, () -> connect(p).close());
        assertNotNull(e.getSQLState(), e.getMessage());
        assertEquals("08P01", e.getSQLState(), e.getMessage());
        assertTrue(e.getMessage().contains("replication=database"),
                "the error should say what the feed accepts: " + e.getMessage());

        Properties otherDatabase = login(FeedFixture.FEED_USER, FeedFixture.FEED_PASSWORD);
        PSQLException wrongDb = assertThrows(PSQLException.class, () -> DriverManager.getConnection(
                "jdbc:postgresql://127.0.0.1:" + fixture.feedPort + "/otherdb", otherDatabase).close());
        assertEquals("3D000", wrongDb.getSQLState(), wrongDb.getMessage());
        assertUnaffected("non-replication");
    }

    @Test
    void tlsEncryptsTheConnectionAndTheStreamWorks() throws Exception {
        // A raw SSLRequest is accepted.
        try (RawFeedClient raw = RawFeedClient.connect(fixture.feedPort)) {
            raw.sendRaw(ByteBuffer.allocate(8).putInt(8).putInt(80877103).array());
            assertEquals('S', new DataInputStream(raw.socket().getInputStream()).readByte(), "answer to SSLRequest");
        }

        // pgjdbc with its own certificate checks: verify-full against the test certificate.
        Properties verified = login(FeedFixture.FEED_USER, FeedFixture.FEED_PASSWORD);
        PGProperty.SSL_MODE.set(verified, "verify-full");
        PGProperty.SSL_ROOT_CERT.set(verified, certificates.certificate().toString());
        try (Connection c = connect(verified)) {
            assertEquals(identifySystemOfRoot(), identifySystem(c));
        }

        // sslmode=require through a factory that records the socket: encrypted, and by our certificate.
        RecordingSslFactory.SOCKETS.clear();
        Properties p = login(FeedFixture.FEED_USER, FeedFixture.FEED_PASSWORD);
        PGProperty.SSL_MODE.set(p, "require");
        PGProperty.SSL_FACTORY.set(p, RecordingSslFactory.class.getName());
        Connection c = connect(p);
        try {
            assertEquals(1, RecordingSslFactory.SOCKETS.size(), "pgjdbc made exactly one TLS socket");
            SSLSocket socket = RecordingSslFactory.SOCKETS.get(0);
            SSLSession session = socket.getSession();
            assertTrue(session.isValid(), "TLS session");
            assertTrue(session.getProtocol().startsWith("TLSv1.2") || session.getProtocol().startsWith("TLSv1.3"),
                    "protocol " + session.getProtocol());
            assertTrue(!session.getCipherSuite().contains("NULL"), "cipher suite " + session.getCipherSuite());
            assertEquals(certificates.x509(), session.getPeerCertificates()[0], "the feed presented the configured certificate");

            c.unwrap(PGConnection.class).getReplicationAPI().createReplicationSlot().logical()
                    .withSlotName("tls_temp").withOutputPlugin("pgoutput").withTemporaryOption().make();
        } catch (Throwable t) {
            c.close();
            throw t;
        }
        try (StreamCollector overTls = StreamCollector.start(c, fixture.publication, "tls_temp", true)) {
            fixture.root.execute(FeedFixture.DB, "INSERT INTO people VALUES (500, 'over-tls', 'happy')");
            overTls.awaitInsertedText(0, "over-tls", WAIT);
        }

        // With TLS configured, plain connections are still served (like a pg_hba "host" line).
        Properties plain = login(FeedFixture.FEED_USER, FeedFixture.FEED_PASSWORD);
        PGProperty.SSL_MODE.set(plain, "disable");
        try (Connection pc = connect(plain)) {
            assertEquals(identifySystemOfRoot(), identifySystem(pc));
        }
        assertUnaffected("tls");
    }

    private static String identifySystemOfRoot() throws SQLException {
        return fixture.root.query(FeedFixture.DB, "SELECT system_identifier::text FROM pg_control_system()").get(0).get(0);
    }

    /** (a) Random bytes instead of a startup packet: the connection ends, nothing else notices. */
    @Test
    void randomBytesAreRefused() throws Exception {
        for (int seed = 1; seed <= 5; seed++) {
            byte[] garbage = new byte[2048 + seed * 100];
            new Random(seed).nextBytes(garbage);
            try (RawFeedClient raw = RawFeedClient.connect(fixture.feedPort)) {
                raw.sendRaw(garbage);
                raw.socket().shutdownOutput();
                RawFeedClient.Ending ending = raw.readToEnd(10_000);
                assertTrue(ending.closed(), "seed " + seed + ": the feed kept a garbage connection open");
                if (ending.error() != null) {
                    assertEquals("FATAL", ending.severity(), "seed " + seed);
                }
            }
        }
        assertUnaffected("random-bytes");
    }

    /** (b) A startup packet announcing 2 GB (or a negative length) is refused before allocation. */
    @Test
    void absurdStartupLengthIsRefused() throws Exception {
        for (int length : new int[] {0x7fffffff, 0x80000000, 4}) {
            try (RawFeedClient raw = RawFeedClient.connect(fixture.feedPort)) {
                raw.sendRaw(ByteBuffer.allocate(16).putInt(length).putInt(3 << 16).putInt(0x75736572).putInt(0).array());
                RawFeedClient.Ending ending = raw.readToEnd(10_000);
                assertTrue(ending.closed(), "length " + length + ": connection not closed");
                assertEquals("08P01", ending.sqlState(), "length " + length);
                assertEquals("FATAL", ending.severity());
            }
        }
        assertUnaffected("startup-length");
    }

    /** (c) A logged-in client that sends garbage while streaming loses its own session only. */
    @Test
    void garbageDuringStreamingEndsOnlyThatSession() throws Exception {
        Map<String, byte[]> attacks = new LinkedHashMap<>();
        attacks.put("unknown standby message 'Z'", copyData("Zgarbage".getBytes()));
        attacks.put("truncated standby status update", copyData(new byte[] {'r', 0, 0, 1}));
        attacks.put("empty CopyData", copyData(new byte[0]));
        attacks.put("CopyData announcing 2 GB", ByteBuffer.allocate(5).put((byte) 'd').putInt(0x7fffffff).array());
        attacks.put("Query in the middle of CopyBoth", message('Q', RawFeedClient.cString("SELECT 1")));
        attacks.put("unknown message type", message('!', new byte[] {1, 2, 3}));
        int i = 0;
        for (Map.Entry<String, byte[]> attack : attacks.entrySet()) {
            String slot = "garbage_" + i++;
            try (RawFeedClient raw = RawFeedClient.login(fixture.feedPort, FeedFixture.FEED_USER, FeedFixture.FEED_PASSWORD)) {
                raw.queryRows("CREATE_REPLICATION_SLOT " + slot + " TEMPORARY LOGICAL pgoutput");
                raw.startReplication(slot, "0/0", fixture.publication);
                raw.sendRaw(attack.getValue());
                RawFeedClient.Ending ending = raw.readToEnd(10_000);
                assertTrue(ending.closed(), attack.getKey() + ": the feed kept the session open");
                assertNotNull(ending.error(), attack.getKey() + ": no ErrorResponse before closing");
                assertTrue(List.of("08P01", "54000").contains(ending.sqlState()), attack.getKey() + ": SQLSTATE "
                        + ending.sqlState() + " " + RawFeedClient.fields(ending.error()).get('M'));
            }
        }
        assertUnaffected("copydata-garbage");
        // The temporary slots went with their sessions.
        try (RawFeedClient raw = RawFeedClient.login(fixture.feedPort, FeedFixture.FEED_USER, FeedFixture.FEED_PASSWORD)) {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (true) {
                List<RawFeedClient.Message> answer = raw.query("CREATE_REPLICATION_SLOT garbage_0 TEMPORARY LOGICAL pgoutput");
                if (answer.stream().noneMatch(m -> m.type() == 'E')) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    fail("temporary slot garbage_0 outlived its broken session");
                }
                Thread.sleep(100);
            }
        }
    }

    private static byte[] copyData(byte[] body) {
        return message('d', body);
    }

    private static byte[] message(char type, byte[] body) {
        return ByteBuffer.allocate(5 + body.length).put((byte) type).putInt(4 + body.length).put(body).array();
    }

    /** (d) Connections beyond feed.max-connections get "too many clients"; the streaming client does not care. */
    @Test
    void connectionsBeyondTheLimitAreRefused() throws Exception {
        int attempts = 2 * MAX_CONNECTIONS;
        List<Socket> sockets = new ArrayList<>();
        int refused = 0;
        int waiting;
        try {
            for (int i = 0; i < attempts; i++) {
                Socket s = new Socket(InetAddress.getLoopbackAddress(), fixture.feedPort);
                s.setSoTimeout(50);
                sockets.add(s);
            }
            // A refused connection gets its ErrorResponse at once; an admitted one hears nothing (the
            // feed waits for its startup packet). Poll them all for a while to tell them apart.
            boolean[] answered = new boolean[attempts];
            long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
            while (System.nanoTime() < deadline) {
                for (int i = 0; i < attempts; i++) {
                    if (answered[i]) {
                        continue;
                    }
                    DataInputStream in = new DataInputStream(sockets.get(i).getInputStream());
                    int type;
                    try {
                        type = in.read();
                    } catch (SocketTimeoutException e) {
                        continue;
                    }
                    answered[i] = true;
                    assertEquals('E', type, "connection " + i + ": a refused client gets an ErrorResponse");
                    sockets.get(i).setSoTimeout(5_000);
                    byte[] body = new byte[in.readInt() - 4];
                    in.readFully(body);
                    Map<Character, String> fields = RawFeedClient.fields(new RawFeedClient.Message('E', body));
                    assertEquals("53300", fields.get('C'), "connection " + i + ": " + fields);
                    assertEquals("FATAL", fields.get('S'));
                    assertEquals(-1, in.read(), "connection " + i + ": closed after the refusal");
                    refused++;
                }
            }
            waiting = attempts - refused;
            assertTrue(waiting <= MAX_CONNECTIONS - 1, waiting + " idle connections admitted besides the streaming client, limit "
                    + MAX_CONNECTIONS);
            assertTrue(refused >= attempts - (MAX_CONNECTIONS - 1), refused + " of " + attempts + " refused");

            // A proper client is refused too while the feed is full …
            Properties p = login(FeedFixture.FEED_USER, FeedFixture.FEED_PASSWORD);
            PGProperty.SSL_MODE.set(p, "disable");
            PSQLException full = assertThrows(PSQLException.class, () -> connect(p).close());
            assertEquals("53300", full.getSQLState(), full.getMessage());
            // … but the one already streaming carries on, and so does apply.
            assertUnaffected("flood");
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
        // Once the idle connections are gone, clients get in again.
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            try (Connection c = connect(login(FeedFixture.FEED_USER, FeedFixture.FEED_PASSWORD))) {
                assertEquals(identifySystemOfRoot(), identifySystem(c));
                break;
            } catch (PSQLException e) {
                assertEquals("53300", e.getSQLState(), e.getMessage());
                if (System.nanoTime() > deadline) {
                    fail("the feed still refuses clients 10 s after the flood ended");
                }
                Thread.sleep(100);
            }
        }
        assertUnaffected("after-flood");
    }

    /** Unsupported SQL and failing commands get an ErrorResponse with a SQLSTATE; the session goes on. */
    @Test
    void unsupportedCommandsFailAndTheSessionStaysUsable() throws Exception {
        Map<String, String> commands = new LinkedHashMap<>();
        commands.put("SELECT 1", "0A000");
        commands.put("SELECT * FROM pg_replication_slots", "0A000");
        commands.put("TIMELINE_HISTORY 1", "0A000");
        commands.put("SHOW work_mem", "42704");
        commands.put("CREATE_REPLICATION_SLOT bad LOGICAL test_decoding", "0A000");
        commands.put("CREATE_REPLICATION_SLOT \"Bad-Name\" LOGICAL pgoutput", "42602");
        commands.put("DROP_REPLICATION_SLOT nosuch", "42704");
        commands.put("START_REPLICATION SLOT nosuch LOGICAL 0/0 (proto_version '1', publication_names '"
                + fixture.publication + "')", "42704");
        commands.put("START_REPLICATION SLOT healthy LOGICAL 0/0 (proto_version '1', publication_names '"
                + fixture.publication + "')", "55006");
        String systemId = identifySystemOfRoot();
        try (Connection c = connect(login(FeedFixture.FEED_USER, FeedFixture.FEED_PASSWORD)); Statement s = c.createStatement()) {
            for (Map.Entry<String, String> command : commands.entrySet()) {
                SQLException e = assertThrows(SQLException.class, () -> s.execute(command.getKey()), command.getKey());
                assertEquals(command.getValue(), e.getSQLState(), command.getKey() + ": " + e.getMessage());
                assertEquals(systemId, identifySystem(c), "the session is usable after: " + command.getKey());
            }
        }
        // On the wire: ErrorResponse (severity ERROR, not FATAL), then ReadyForQuery, then the next command works.
        try (RawFeedClient raw = RawFeedClient.login(fixture.feedPort, FeedFixture.FEED_USER, FeedFixture.FEED_PASSWORD)) {
            List<RawFeedClient.Message> answer = raw.query("SELECT now()");
            assertEquals(List.of('E', 'Z'), answer.stream().map(RawFeedClient.Message::type).toList());
            Map<Character, String> error = RawFeedClient.fields(answer.get(0));
            assertEquals("ERROR", error.get('S'));
            assertEquals("0A000", error.get('C'));
            assertEquals(systemId, raw.queryRows("IDENTIFY_SYSTEM").get(0).get(0));
            List<RawFeedClient.Message> empty = raw.query("");
            assertEquals(List.of('I', 'Z'), empty.stream().map(RawFeedClient.Message::type).toList(), "empty query");
        }
        assertUnaffected("unsupported-sql");
    }

    @Test
    void closedHalfWayThroughLoginLeavesNoTrace() throws Exception {
        // Startup sent, SASL offered, then the client vanishes; then one that stops mid-SASL.
        for (int stage = 0; stage < 2; stage++) {
            try (RawFeedClient raw = RawFeedClient.connect(fixture.feedPort)) {
                Map<String, String> parameters = new LinkedHashMap<>();
                parameters.put("user", FeedFixture.FEED_USER);
                parameters.put("database", FeedFixture.DB);
                parameters.put("replication", "database");
                raw.startup(parameters);
                RawFeedClient.Message sasl = raw.read();
                assertEquals('R', sasl.type());
                if (stage == 1) {
                    raw.sendRaw(message('p', "SCRAM-SHA-256\0\0\0\0\5n,,n=".getBytes()));
                }
            } catch (IOException e) {
                fail("stage " + stage + ": " + e);
            }
        }
        assertUnaffected("half-login");
    }
}
