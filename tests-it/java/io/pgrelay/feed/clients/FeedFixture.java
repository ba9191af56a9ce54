package io.pgrelay.feed.clients;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.decode.PgOutputDecoder;
import io.pgrelay.decode.PgOutputMessage;
import io.pgrelay.it.PgCluster;
import io.pgrelay.it.RelayRunner;
import io.pgrelay.embedded.TreeDeletion;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.postgresql.replication.LogSequenceNumber;

/**
 * One root cluster, one downstream cluster and one in-process relay between them whose feed
 * listens on a free loopback port: what every client IT of this package talks to.
 *
 * <p>The root has a database {@value #DB} with three published tables (one with an enum column)
 * and one table left out of the publication, for writing WAL that the feed must not serve.
 * {@link #close()} stops the relay (failing if it did not stop cleanly), the clusters, and deletes
 * the data directory; it is safe after a partial start.
 */
final class FeedFixture implements AutoCloseable {

    static final String DB = "app";
    static final String FEED_USER = "feeder";
    static final String FEED_PASSWORD = "feed-secret-0xC0FFEE";

    /** Published tables (and the enum), created on the root and, same shape, on the downstream. */
    static final String SCHEMA = """
            CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
            CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL, mood mood);
            CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL);
            CREATE TABLE counters (k text PRIMARY KEY, n bigint NOT NULL)
            """;
    /** Root only: writes WAL that no feed client may ever see. */
    static final String UNPUBLISHED = "CREATE TABLE unpublished (id bigserial PRIMARY KEY, pad text)";

    final String name;
    final String publication;
    final PgCluster root;
    final PgCluster downstream;
    final RelayRunner relay;
    final int feedPort;
    final Path dataDir;

    private FeedFixture(String name, String publication, PgCluster root, PgCluster downstream, RelayRunner relay,
                        int feedPort, Path dataDir) {
        this.name = name;
        this.publication = publication;
        this.root = root;
        this.downstream = downstream;
        this.relay = relay;
        this.feedPort = feedPort;
        this.dataDir = dataDir;
    }

    /**
     * Starts both clusters and the relay and waits until it streams from the root.
     *
     * @param feedSettings extra relay settings, e.g. {@code feed.tls.cert} or {@code feed.max-connections}
     */
    static FeedFixture start(String name, Map<String, String> feedSettings) throws Exception {
        String publication = name + "_pub";
        PgCluster root = null;
        PgCluster downstream = null;
        RelayRunner relay = null;
        Path dataDir = null;
        try {
            root = PgCluster.builder(name + "-root").start();
            root.createDatabase(DB);
            root.execute(DB, SCHEMA, UNPUBLISHED, "CREATE PUBLICATION " + publication + " FOR TABLE people, notes, counters");
            downstream = PgCluster.builder(name + "-down").start();
            downstream.createDatabase(DB);
            downstream.execute(DB, SCHEMA);
            dataDir = Files.createTempDirectory("pgrelay-" + name);
            int feedPort = freePort();
            Properties p = new Properties();
            p.setProperty("relay.name", name);
            p.setProperty("upstream.url", root.jdbcUrl(DB));
            p.setProperty("upstream.user", root.user());
            p.setProperty("upstream.password", root.password());
            p.setProperty("upstream.slot", name + "_relay");
            p.setProperty("upstream.publications", publication);
            p.setProperty("upstream.status-interval", "1s");
            p.setProperty("downstream.url", downstream.jdbcUrl(DB));
            p.setProperty("downstream.user", downstream.user());
            p.setProperty("downstream.password", downstream.password());
            p.setProperty("feed.listen", "127.0.0.1:" + feedPort);
            p.setProperty("feed.user", FEED_USER);
            p.setProperty("feed.password", FEED_PASSWORD);
            p.setProperty("data.dir", dataDir.resolve("relay").toString());
            p.setProperty("retry.initial-backoff", "100ms");
            p.setProperty("retry.max-backoff", "1s");
            feedSettings.forEach(p::setProperty);
            RelayConfig config = ConfigLoader.fromProperties(p, Map.of());
            relay = RelayRunner.start(config);
            relay.awaitStreaming(Duration.ofSeconds(30));
            return new FeedFixture(name, publication, root, downstream, relay, feedPort, dataDir);
        } catch (Throwable t) {
            closeAll(t, relay, downstream, root, dataDir);
            throw t;
        }
    }

    String feedJdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + feedPort + "/" + DB;
    }

    /** The relay must still be running: nothing a feed client does may stop it. */
    void assertRelayAlive() {
        assertFalse(relay.hasExited(), () -> "the relay stopped: " + relay.failure());
    }

    /** The root's current WAL insert position. */
    LogSequenceNumber rootWalLsn() throws SQLException {
        return LogSequenceNumber.valueOf(root.query(DB, "SELECT pg_current_wal_insert_lsn()::text").get(0).get(0));
    }

    /** The root's WAL flush position: every commit so far is at or below it. */
    LogSequenceNumber rootFlushLsn() throws SQLException {
        return LogSequenceNumber.valueOf(root.query(DB, "SELECT pg_current_wal_flush_lsn()::text").get(0).get(0));
    }

    /** Where the relay's slot on the root is confirmed: everything below is durable in the relay's changelog. */
    LogSequenceNumber relaySlotConfirmed() throws SQLException {
        List<List<String>> rows = root.query(DB, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = '"
                + name + "_relay'");
        return rows.isEmpty() || rows.get(0).get(0) == null ? LogSequenceNumber.INVALID_LSN
                : LogSequenceNumber.valueOf(rows.get(0).get(0));
    }

    /**
     * Waits until the relay has acknowledged the root's current position: every transaction
     * committed before this call is then in the relay's durable changelog (ack = min(checkpoint,
     * durable changelog end)), so a feed slot created now starts after all of them.
     */
    void quiesce(Duration timeout) throws Exception {
        awaitRelayConfirmed(rootFlushLsn(), timeout);
    }

    void awaitRelayConfirmed(LogSequenceNumber target, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (Long.compareUnsigned(relaySlotConfirmed().asLong(), target.asLong()) < 0) {
            assertRelayAlive();
            if (System.nanoTime() > deadline) {
                fail("the relay did not confirm " + target.asString() + " on the root within " + timeout.toSeconds()
                        + " s (confirmed: " + relaySlotConfirmed().asString() + ")");
            }
            Thread.sleep(100);
        }
    }

    /** Creates a pgoutput slot on the root itself, the reference the feed is compared with. */
    void createRootSlot(String slot) throws SQLException {
        root.execute(DB, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
    }

    /** Decodes a root slot's pending changes without consuming them (a fresh decoding session). */
    List<Msg> peekRootSlot(String slot) throws SQLException {
        return rootSlotChanges("pg_logical_slot_peek_binary_changes", slot);
    }

    /** Decodes and consumes a root slot's pending changes (a fresh decoding session). */
    List<Msg> getRootSlot(String slot) throws SQLException {
        return rootSlotChanges("pg_logical_slot_get_binary_changes", slot);
    }

    private List<Msg> rootSlotChanges(String function, String slot) throws SQLException {
        PgOutputDecoder decoder = new PgOutputDecoder();
        List<Msg> messages = new ArrayList<>();
        try (Connection c = root.connect(DB);
             PreparedStatement s = c.prepareStatement("SELECT lsn::text, data FROM " + function
                     + "(?, NULL, NULL, 'proto_version', '1', 'publication_names', ?)")) {
            s.setString(1, slot);
            s.setString(2, publication);
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    byte[] raw = rs.getBytes(2);
                    messages.add(new Msg(LogSequenceNumber.valueOf(rs.getString(1)), decoder.decode(ByteBuffer.wrap(raw)), raw));
                }
            }
        }
        return messages;
    }

    /** Polls the downstream until {@code sql} returns {@code expected}, asserting the relay stays up. */
    void awaitDownstream(String sql, List<List<String>> expected, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<List<String>> got = downstream.query(DB, sql);
        while (!expected.equals(got) && System.nanoTime() < deadline) {
            assertRelayAlive();
            Thread.sleep(50);
            got = downstream.query(DB, sql);
        }
        assertEquals(expected, got, "downstream after " + timeout.toSeconds() + " s: " + sql);
    }

    /** The downstream must equal the root for the published tables. */
    void awaitDownstreamEqualsRoot(Duration timeout) throws Exception {
        for (String sql : List.of("SELECT id, name, mood FROM people ORDER BY id", "SELECT id, body FROM notes ORDER BY id",
                "SELECT k, n FROM counters ORDER BY k")) {
            awaitDownstream(sql, root.query(DB, sql), timeout);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    @Override
    public void close() throws Exception {
        closeAll(null, relay, downstream, root, dataDir);
    }

    /** Closes everything given, in order, even when some fail; rethrows the first failure. */
    private static void closeAll(Throwable primary, RelayRunner relay, PgCluster downstream, PgCluster root, Path dataDir)
            throws Exception {
        Throwable first = primary;
        if (relay != null) {
            try {
                relay.close();
            } catch (Throwable t) {
                first = addTo(first, t);
            }
        }
        for (PgCluster cluster : new PgCluster[] {downstream, root}) {
            if (cluster != null) {
                try {
                    cluster.close();
                } catch (Throwable t) {
                    first = addTo(first, t);
                }
            }
        }
        if (dataDir != null) {
            try {
                deleteTree(dataDir);
            } catch (IOException t) {
                first = addTo(first, t);
            }
        }
        if (first != null && first != primary) {
            if (first instanceof Exception e) {
                throw e;
            }
            throw (Error) first;
        }
    }

    private static Throwable addTo(Throwable first, Throwable next) {
        if (first == null) {
            return next;
        }
        first.addSuppressed(next);
        return first;
    }

    /** Removes a test's files; the same deletion the embedded servers use. */
    static void deleteTree(Path root) throws IOException {
        TreeDeletion.deleteIfExists(root);
    }
}
