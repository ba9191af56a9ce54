package io.pgrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.feed.FeedAddress;
import io.pgrelay.feed.FeedSlot;
import io.pgrelay.feed.SlotListQuery;
import io.pgrelay.feed.wire.WireWriter;
import java.io.ByteArrayOutputStream;
import java.net.ConnectException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.postgresql.PGProperty;
import org.postgresql.util.PSQLException;
import org.postgresql.util.PSQLState;
import org.postgresql.util.ServerErrorMessage;

/** The running-relay side of {@code pgrelay slot}: the feed's address, the driver settings, the listing query. */
class FeedSlotClientTest {

    private static RelayConfig config(String... keyValues) {
        Properties p = SlotFixtures.config(Path.of("/var/lib/pgrelay"), "127.0.0.1:5433");
        p.setProperty("upstream.url", "jdbc:postgresql://root.example:5432/appdb?sslmode=require");
        for (int i = 0; i < keyValues.length; i += 2) {
            p.setProperty(keyValues[i], keyValues[i + 1]);
        }
        return ConfigLoader.fromProperties(p, Map.of());
    }

    // ---------------------------------------------------------------- where the feed is

    @Test
    void feedAddressIsTheListenAddressAndTheUpstreamDatabase() {
        FeedAddress address = FeedAddress.of(config());
        assertEquals("127.0.0.1:5433", address.toString());
        assertEquals("jdbc:postgresql://127.0.0.1:5433/appdb", address.jdbcUrl());
    }

    @Test
    void wildcardListenersAreReachedThroughLoopback() {
        assertEquals("jdbc:postgresql://127.0.0.1:6000/appdb", FeedAddress.of(config("feed.listen", "0.0.0.0:6000")).jdbcUrl());
        assertEquals("jdbc:postgresql://[::1]:6000/appdb", FeedAddress.of(config("feed.listen", "[::]:6000")).jdbcUrl());
        assertEquals("jdbc:postgresql://[fd00::5]:6000/appdb", FeedAddress.of(config("feed.listen", "[fd00::5]:6000")).jdbcUrl());
        assertEquals("feed.example:6000", FeedAddress.of(config("feed.listen", "feed.example:6000")).toString());
    }

    @Test
    void noFeedNoAddress() {
        assertThrows(IllegalArgumentException.class, () -> FeedAddress.of(config("feed.listen", "")));
    }

    // ---------------------------------------------------------------- how the CLI logs in

    @Test
    void connectsAsALogicalReplicationClientInSimpleQueryMode() {
        Properties props = FeedSlotClient.connectionProperties(config());
        assertEquals("database", PGProperty.REPLICATION.getOrDefault(props));
        assertEquals("simple", PGProperty.PREFER_QUERY_MODE.getOrDefault(props));
        assertEquals("10", PGProperty.ASSUME_MIN_SERVER_VERSION.getOrDefault(props));
        assertEquals(SlotFixtures.FEED_USER, PGProperty.USER.getOrDefault(props));
        assertEquals(SlotFixtures.FEED_PASSWORD, PGProperty.PASSWORD.getOrDefault(props));
        assertEquals("disable", PGProperty.SSL_MODE.getOrDefault(props), "no TLS on the feed: do not ask for it");
    }

    @Test
    void trustWithoutPasswordSendsNoPassword() {
        Properties props = FeedSlotClient.connectionProperties(config("feed.auth", "trust", "feed.password", ""));
        assertNull(PGProperty.PASSWORD.getOrDefault(props));
    }

    @Test
    void aFeedWithTlsIsReachedOnlyOverTls() {
        Properties props = FeedSlotClient.connectionProperties(
                config("feed.tls.cert", "/etc/pgrelay/feed.crt", "feed.tls.key", "/etc/pgrelay/feed.key"));
        assertEquals("require", PGProperty.SSL_MODE.getOrDefault(props));
    }

    // ---------------------------------------------------------------- what failures say

    @Test
    void refusedLoginNamesTheKeysToCheckAndNoPassword() {
        SlotFailure failure = FeedSlotClient.connectFailure(FeedAddress.of(config()), "child", "/d",
                serverError("28P01", "password authentication failed for user \"child\""));
        assertEquals(ExitCode.FAILURE, failure.exitCode());
        assertEquals("the relay's feed at 127.0.0.1:5433 refused the login of feed.user \"child\": password authentication"
                + " failed for user \"child\": check feed.user and feed.password (or feed.auth)", failure.getMessage());
        assertFalse(failure.getMessage().contains(SlotFixtures.FEED_PASSWORD));
    }

    @Test
    void anUnreachableFeedOfALockedDataDirSaysSo() {
        PSQLException refused = new PSQLException("Connection to 127.0.0.1:5433 refused.", PSQLState.CONNECTION_UNABLE_TO_CONNECT,
                new ConnectException("Connection refused"));
        SlotFailure failure = FeedSlotClient.connectFailure(FeedAddress.of(config()), "child", "/var/lib/pgrelay", refused);
        assertEquals(ExitCode.FAILURE, failure.exitCode());
        assertTrue(failure.getMessage().startsWith("data.dir /var/lib/pgrelay is locked by a running relay, but its feed at"
                + " 127.0.0.1:5433 does not answer (Connection refused)"), failure.getMessage());
    }

    @Test
    void serverMessageIsTheServersOwnWords() {
        assertEquals("replication slot \"x\" is active", FeedSlotClient.serverMessage(serverError("55006",
                "replication slot \"x\" is active")));
        assertEquals("first line", FeedSlotClient.serverMessage(new SQLException("first line\n  detail")));
    }

    private static PSQLException serverError(String state, String message) {
        return new PSQLException(new ServerErrorMessage("SERROR\0VERROR\0C" + state + "\0M" + message + "\0"));
    }

    // ---------------------------------------------------------------- the listing query

    @Test
    void theFeedRecognisesTheQueryTheClientSends() {
        assertTrue(SlotListQuery.matches(SlotListQuery.SQL));
        assertTrue(SlotListQuery.matches(SlotListQuery.SQL.toLowerCase().replace(" ", "\n  ") + " ;"));
        assertTrue(SlotListQuery.matches("SELECT slot_name,confirmed_flush_lsn,active,wal_status,temporary,"
                + "pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(),confirmed_flush_lsn) AS lag_bytes"
                + " FROM pg_catalog.pg_replication_slots"));
        assertFalse(SlotListQuery.matches("SELECT slot_name FROM pg_replication_slots"));
        assertFalse(SlotListQuery.matches("SELECT * FROM pg_replication_slots"), "FeedAuthAndIsolationIT expects 0A000");
        assertFalse(SlotListQuery.matches(SlotListQuery.SQL + " WHERE slot_name = 'x'"));
        assertFalse(SlotListQuery.matches(SlotListQuery.SQL + "; DROP TABLE t"));
    }

    @Test
    void theFeedsAnswerIsWhatTheClientParses() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        WireWriter out = new WireWriter(bytes);
        List<FeedSlot> slots = List.of(new FeedSlot("busy", 0x100, false, false), new FeedSlot("gone", 0x10, false, true),
                new FeedSlot("tmp", 0x300, true, false));
        SlotListQuery.write(slots, 0x200, Set.of("busy")::contains, out);
        out.flush();

        ByteBuffer in = ByteBuffer.wrap(bytes.toByteArray());
        List<String> columns = new ArrayList<>();
        List<SlotRow> rows = new ArrayList<>();
        String tag = null;
        while (in.hasRemaining()) {
            byte type = in.get();
            int length = in.getInt();
            ByteBuffer body = in.slice(in.position(), length - 4);
            in.position(in.position() + length - 4);
            switch (type) {
                case 'T' -> {
                    int n = body.getShort();
                    for (int i = 0; i < n; i++) {
                        columns.add(cString(body));
                        body.position(body.position() + 18);
                    }
                }
                case 'D' -> {
                    int n = body.getShort();
                    String[] values = new String[n];
                    for (int i = 0; i < n; i++) {
                        int size = body.getInt();
                        byte[] value = new byte[Math.max(size, 0)];
                        body.get(value);
                        values[i] = size < 0 ? null : new String(value, StandardCharsets.UTF_8);
                    }
                    rows.add(FeedSlotClient.row(values[0], values[1], values[2], values[3], values[4], values[5]));
                }
                case 'C' -> tag = cString(body);
                default -> throw new AssertionError("unexpected message " + (char) type);
            }
        }
        assertEquals(SlotListQuery.COLUMNS, columns);
        assertEquals("SELECT 3", tag);
        assertEquals(List.of(new SlotRow("busy", 0x100, false, true, false, 0x100),
                new SlotRow("gone", 0x10, true, false, false, 0x1f0),
                new SlotRow("tmp", 0x300, false, false, true, 0)), rows);
    }

    @Test
    void rowsParseWhatPostgresqlWouldSendToo() {
        assertEquals(new SlotRow("a", 0x1_0000_0010L, false, true, false, 12),
                FeedSlotClient.row("a", "1/10", "true", "reserved", "false", "12"));
        assertEquals(new SlotRow("b", 0, true, false, false, 0),
                FeedSlotClient.row("b", null, "f", "lost", null, "-5"), "a negative lag is no lag");
        assertEquals(new SlotRow("c", 0x20, false, null, true, 3),
                FeedSlotClient.row("c", "0/20", null, "extended", "t", "3.0"));
    }

    @Test
    void lagIsNeverNegative() {
        assertEquals(0, SlotListQuery.lagBytes(0x200, 0x100));
        assertEquals(0x100, SlotListQuery.lagBytes(0x100, 0x200));
        assertEquals(0, SlotListQuery.lagBytes(5, 5));
    }

    private static String cString(ByteBuffer body) {
        int start = body.position();
        while (body.get() != 0) {
            // scan to the terminator
        }
        byte[] text = new byte[body.position() - start - 1];
        body.get(start, text);
        return new String(text, StandardCharsets.UTF_8);
    }
}
