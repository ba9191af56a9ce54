package io.pgrelay.feed.clients;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgrelay.decode.PgOutputMessage.Commit;
import io.pgrelay.feed.clients.Pgoutput.Txn;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.ReplicationSlotInfo;
import org.postgresql.util.PSQLException;

/**
 * A plain pgjdbc replication client (the API any Java consumer uses) against a relay's feed,
 * checked against what the root itself says: DESIGN.md invariants 1 (one LSN space), 3 (walEnd
 * never past the last delivered commit) and 5 (Relation/Type messages per session), live
 * tailing, and IDENTIFY_SYSTEM.
 */
@Timeout(60)
class PgjdbcReplicationClientIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static FeedFixture fixture;

    @BeforeAll
    @Timeout(90)
    static void start() throws Exception {
        fixture = FeedFixture.start("jdbcfeed", Map.of());
    }

    @AfterAll
    @Timeout(60)
    static void stop() throws Exception {
        if (fixture != null) {
            fixture.close();
        }
    }

    /** Runs the statements as one root transaction. */
    private static void rootTxn(String... statements) throws SQLException {
        try (Connection c = fixture.root.connect(FeedFixture.DB); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            for (String sql : statements) {
                s.execute(sql);
            }
            c.commit();
        }
    }

    /**
     * Invariants 1 and 5. A first session reads seven root transactions and must see exactly
     * what a pgoutput slot on the root itself produces: same messages, same Begin/Commit LSNs and
     * commit times. The client then confirms the third transaction and leaves; a second session,
     * started later from the slot's confirmed position, must start with the fourth transaction
     * and again describe every relation (and the enum type) before its first change, though the
     * first session had them already.
     */
    @Test
    void sessionsCarryRootPositionsAndDescribeRelationsAgain() throws Exception {
        fixture.quiesce(WAIT);
        ReplicationSlotInfo info;
        try (Connection c = StreamCollector.connect(fixture)) {
            info = c.unwrap(PGConnection.class).getReplicationAPI().createReplicationSlot().logical()
                    .withSlotName("s_sessions").withOutputPlugin("pgoutput").make();
        }
        assertEquals("s_sessions", info.getSlotName());
        assertEquals("pgoutput", info.getOutputPlugin());
        fixture.createRootSlot("ref_sessions");

        rootTxn("INSERT INTO people VALUES (1, 'alice', 'happy')");
        rootTxn("INSERT INTO notes (body) VALUES ('n1'), ('n2')");
        rootTxn("UPDATE people SET mood = 'sad' WHERE id = 1", "INSERT INTO counters VALUES ('c', 1)");
        rootTxn("INSERT INTO notes (body) VALUES ('n3')");
        rootTxn("UPDATE counters SET n = 2", "INSERT INTO people VALUES (2, 'bob', 'ok')");
        rootTxn("DELETE FROM notes WHERE body = 'n1'");
        rootTxn("INSERT INTO people VALUES (3, 'carol', NULL)", "UPDATE counters SET n = 3");

        List<Msg> root = fixture.peekRootSlot("ref_sessions");
        List<Txn> rootTxns = Pgoutput.transactions(root);
        assertEquals(7, rootTxns.size(), "the root's own slot decodes the seven workload transactions: " + root);
        LogSequenceNumber lastEnd = rootTxns.get(6).commit().endLsn();

        // Session 1: everything from the slot's creation.
        List<Msg> first;
        try (StreamCollector session = StreamCollector.start(fixture, "s_sessions", false)) {
            int last = session.awaitCommit(lastEnd, WAIT);
            first = session.messages().subList(0, last + 1);
            assertEquals(Pgoutput.boundaries(root), Pgoutput.boundaries(first),
                    "invariant 1: Begin.finalLsn/commitTime and Commit LSNs/commitTime must be the root's");
            Pgoutput.assertSameStream(root, first, "feed session vs the root's own pgoutput slot");
            Pgoutput.assertDefinitionsPrecedeChanges(first, "first session");
            assertEquals(Set.of("people", "notes", "counters"), Pgoutput.describedRelations(first));
            assertEquals(Set.of("mood"), Pgoutput.describedTypes(first));

            LogSequenceNumber confirmed = Pgoutput.transactions(first).get(2).commit().endLsn();
            session.confirm(confirmed);
        }

        // The relay applied the same transactions, and its checkpoint names the root's commit.
        fixture.awaitDownstreamEqualsRoot(WAIT);
        Commit lastCommit = rootTxns.get(6).commit();
        try (Connection c = fixture.downstream.connect(FeedFixture.DB); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT end_lsn::text, commit_time FROM pgrelay.checkpoint WHERE relay_name = '"
                     + fixture.name + "'")) {
            assertTrue(rs.next(), "the relay's checkpoint row");
            assertEquals(lastCommit.commitTime(), rs.getObject(2, OffsetDateTime.class).toInstant(),
                    "invariant 1: the downstream checkpoint's commit_time is the root's commit time");
            assertTrue(Long.compareUnsigned(LogSequenceNumber.valueOf(rs.getString(1)).asLong(), lastCommit.endLsn().asLong()) >= 0,
                    "checkpoint " + rs.getString(1) + " is below the last applied commit " + lastCommit.endLsn().asString());
        }

        // Session 2: a new connection, start position 0/0, so the slot's confirmed position rules.
        try (StreamCollector session = StreamCollector.start(fixture, "s_sessions", false)) {
            int last = session.awaitCommit(lastEnd, WAIT);
            List<Msg> second = session.messages().subList(0, last + 1);
            List<Txn> secondTxns = Pgoutput.transactions(second);
            List<Txn> expected = rootTxns.subList(3, 7);
            assertEquals(expected.stream().map(Txn::begin).collect(Collectors.toList()),
                    secondTxns.stream().map(Txn::begin).collect(Collectors.toList()),
                    "the second session must resume right after the confirmed (third) transaction, nothing repeated or lost");
            assertEquals(expected.stream().map(Txn::commit).collect(Collectors.toList()),
                    secondTxns.stream().map(Txn::commit).collect(Collectors.toList()));
            for (int i = 0; i < expected.size(); i++) {
                assertEquals(expected.get(i).changes(), secondTxns.get(i).changes(), "changes of transaction " + (i + 4));
            }
            Pgoutput.assertDefinitionsPrecedeChanges(second, "second session");
            assertEquals(Set.of("people", "notes", "counters"), Pgoutput.describedRelations(second),
                    "invariant 5: a new session describes every relation it changes again");
            assertEquals(Set.of("mood"), Pgoutput.describedTypes(second),
                    "invariant 5: a new session sends the enum's Type again before people's Relation");
        }

        // pgjdbc's drop works, and the slot is then gone for good.
        try (Connection c = StreamCollector.connect(fixture)) {
            c.unwrap(PGConnection.class).getReplicationAPI().dropReplicationSlot("s_sessions");
        }
        SQLException gone = assertThrows(SQLException.class, () -> StreamCollector.start(fixture, "s_sessions", false).close());
        assertEquals("42704", gone.getSQLState(), "START_REPLICATION on a dropped slot: " + gone.getMessage());
        fixture.root.execute(FeedFixture.DB, "SELECT pg_drop_replication_slot('ref_sessions')");
    }

    /**
     * Invariant 3 through pgjdbc: after the client is idle and the root has written WAL the feed
     * must not serve (an unpublished table) and the relay has acknowledged it, a keepalive, asked
     * for by a status update, still must not move pgjdbc's received position past the last
     * commit. The raw client sees the keepalive itself.
     */
    @Test
    void keepaliveNeverPassesTheLastDeliveredCommit() throws Exception {
        fixture.quiesce(WAIT);
        StreamCollector.createSlot(fixture, "s_keepalive");
        StreamCollector.createSlot(fixture, "s_keepalive_raw");
        try (StreamCollector session = StreamCollector.start(fixture, "s_keepalive", true);
             RawFeedClient raw = RawFeedClient.login(fixture.feedPort, FeedFixture.FEED_USER, FeedFixture.FEED_PASSWORD)) {
            raw.startReplication("s_keepalive_raw", "0/0", fixture.publication);
            rootTxn("INSERT INTO people VALUES (100, 'dave', 'ok')");
            int insert = session.awaitInsertedText(0, "dave", WAIT);
            int commitIndex = session.await(insert, m -> m.message() instanceof Commit, WAIT, "the Commit after dave");
            LogSequenceNumber commitEnd = ((Commit) session.messages().get(commitIndex).message()).endLsn();

            long rawCommitEnd = 0;
            while (rawCommitEnd == 0) {
                RawFeedClient.Message m = raw.read();
                if (m.type() == 'd' && m.copyKind() == 'w' && m.body()[25] == 'C') {
                    rawCommitEnd = ByteBuffer.wrap(m.body(), 26 + 9, 8).getLong();
                }
            }
            assertEquals(commitEnd.asLong(), rawCommitEnd, "both clients got the same commit");

            // WAL the feed must not serve; wait until the relay acknowledged it on the root, so the
            // relay itself knows of positions past the commit.
            fixture.root.execute(FeedFixture.DB, "INSERT INTO unpublished (pad) SELECT repeat('x', 100) FROM generate_series(1, 3000)");
            LogSequenceNumber beyond = fixture.rootFlushLsn();
            fixture.awaitRelayConfirmed(beyond, WAIT);
            assertTrue(Long.compareUnsigned(beyond.asLong(), commitEnd.asLong()) > 0);

            session.requestKeepalive();
            Thread.sleep(300);
            session.requestKeepalive();
            Thread.sleep(300);
            session.assertHealthy();
            LogSequenceNumber received = session.lastReceiveLsn();
            assertTrue(Long.compareUnsigned(received.asLong(), commitEnd.asLong()) <= 0,
                    "invariant 3: pgjdbc's received position " + received.asString() + " passed the last commit end "
                            + commitEnd.asString() + " (the relay is at " + beyond.asString() + ")");

            raw.sendStatus(rawCommitEnd, rawCommitEnd, rawCommitEnd, true);
            RawFeedClient.Message keepalive = raw.read();
            while (!(keepalive.type() == 'd' && keepalive.copyKind() == 'k')) {
                assertEquals('d', keepalive.type(), "only CopyData while streaming");
                keepalive = raw.read();
            }
            long walEnd = keepalive.buffer().getLong(1);
            assertTrue(Long.compareUnsigned(walEnd, rawCommitEnd) <= 0, "invariant 3: keepalive walEnd "
                    + LogSequenceNumber.valueOf(walEnd).asString() + " is past the last delivered commit "
                    + commitEnd.asString());
            assertTrue(Long.compareUnsigned(walEnd, 0) > 0, "keepalive walEnd is 0/0");
        }
    }

    /**
     * A client catching up gets XLogData messages; their walEnd field must not run ahead of what
     * was delivered either. A native subscriber (PostgreSQL's apply worker) takes every walEnd,
     * also that of XLogData, as its received position and, when it has no unflushed
     * transactions, reports it as flushed; PostgreSQL's own walsender therefore sets an
     * XLogData's walEnd to its dataStart. If the feed reports the changelog's end there, a
     * subscriber that applied the first of many pending transactions can confirm them all, and
     * after a reconnect resumes past transactions it never applied.
     */
    @Test
    void xLogDataWalEndNeverRunsAheadOfDeliveredData() throws Exception {
        fixture.quiesce(WAIT);
        long consistentPoint;
        try (RawFeedClient raw = RawFeedClient.login(fixture.feedPort, FeedFixture.FEED_USER, FeedFixture.FEED_PASSWORD)) {
            consistentPoint = LogSequenceNumber.valueOf(
                    raw.queryRows("CREATE_REPLICATION_SLOT s_walend LOGICAL pgoutput").get(0).get(1)).asLong();
        }
        for (int i = 0; i < 20; i++) {
            rootTxn("INSERT INTO notes (body) VALUES ('walend-" + i + "')");
        }
        fixture.quiesce(WAIT);
        List<String> violations = new ArrayList<>();
        int commits = 0;
        try (RawFeedClient raw = RawFeedClient.login(fixture.feedPort, FeedFixture.FEED_USER, FeedFixture.FEED_PASSWORD)) {
            raw.startReplication("s_walend", "0/0", fixture.publication);
            long delivered = consistentPoint;
            while (commits < 20) {
                RawFeedClient.Message m = raw.read();
                if (m.type() != 'd' || m.copyKind() != 'w') {
                    continue;
                }
                ByteBuffer b = m.buffer();
                long dataStart = b.getLong(1);
                long walEnd = b.getLong(9);
                char kind = (char) b.get(25);
                if (kind == 'C') {
                    delivered = b.getLong(26 + 9);
                    commits++;
                }
                long allowed = Long.compareUnsigned(dataStart, delivered) > 0 ? dataStart : delivered;
                if (Long.compareUnsigned(walEnd, allowed) > 0 && violations.size() < 3) {
                    violations.add("'" + kind + "' at " + LogSequenceNumber.valueOf(dataStart).asString() + " has walEnd "
                            + LogSequenceNumber.valueOf(walEnd).asString() + " though only "
                            + LogSequenceNumber.valueOf(delivered).asString() + " was delivered");
                }
            }
        }
        assertEquals(List.of(), violations, "XLogData walEnd ran ahead of the data delivered to the client");
    }

    /** Live tailing: once the client is caught up, a root commit reaches it within 2 s. */
    @Test
    void liveChangesArriveWithinTwoSeconds() throws Exception {
        fixture.quiesce(WAIT);
        StreamCollector.createSlot(fixture, "s_live");
        try (StreamCollector session = StreamCollector.start(fixture, "s_live", true);
             Connection root = fixture.root.connect(FeedFixture.DB);
             Statement s = root.createStatement()) {
            s.execute("INSERT INTO notes (body) VALUES ('live-warmup')");
            int from = session.awaitInsertedText(0, "live-warmup", WAIT) + 1;
            for (int i = 0; i < 3; i++) {
                Thread.sleep(300); // truly idle in between: the feed waits on the changelog
                long t0 = System.nanoTime();
                s.execute("INSERT INTO notes (body) VALUES ('live-" + i + "')");
                int index = session.awaitInsertedText(from, "live-" + i, Duration.ofSeconds(5));
                long millis = (session.receivedAt(index) - t0) / 1_000_000;
                assertTrue(millis <= 2000, "live change " + i + " took " + millis + " ms from the root commit to the client");
                from = index + 1;
            }
        }
    }

    /** IDENTIFY_SYSTEM over the feed names the root, not the relay. */
    @Test
    void identifySystemNamesTheRoot() throws Exception {
        String systemId;
        int timeline;
        String xlogpos;
        String dbname;
        try (Connection c = StreamCollector.connect(fixture); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("IDENTIFY_SYSTEM")) {
            assertTrue(rs.next(), "IDENTIFY_SYSTEM returns a row");
            systemId = rs.getString("systemid");
            timeline = rs.getInt("timeline");
            xlogpos = rs.getString("xlogpos");
            dbname = rs.getString("dbname");
        }
        assertEquals(fixture.root.query(FeedFixture.DB, "SELECT system_identifier::text FROM pg_control_system()").get(0).get(0),
                systemId, "IDENTIFY_SYSTEM systemid must be the root's");
        assertEquals(Integer.parseInt(fixture.root.query(FeedFixture.DB,
                "SELECT timeline_id FROM pg_control_checkpoint()").get(0).get(0)), timeline);
        assertEquals(FeedFixture.DB, dbname);
        LogSequenceNumber position = LogSequenceNumber.valueOf(xlogpos);
        assertTrue(Long.compareUnsigned(position.asLong(), fixture.rootWalLsn().asLong()) <= 0,
                "xlogpos " + xlogpos + " is a root position, not beyond the root's WAL");
    }

    /** Slot commands through pgjdbc's API: a duplicate is refused, a temporary slot vanishes with its session. */
    @Test
    void slotCommandsBehaveLikePostgres() throws Exception {
        StreamCollector.createSlot(fixture, "s_dup");
        SQLException duplicate = assertThrows(SQLException.class, () -> StreamCollector.createSlot(fixture, "s_dup"));
        assertEquals("42710", duplicate.getSQLState(), duplicate.getMessage());
        try (Connection c = StreamCollector.connect(fixture)) {
            c.unwrap(PGConnection.class).getReplicationAPI().createReplicationSlot().logical()
                    .withSlotName("s_temp").withOutputPlugin("pgoutput").withTemporaryOption().make();
            // Usable in the session that created it.
            try (StreamCollector session = StreamCollector.start(c, fixture.publication, "s_temp", true)) {
                fixture.root.execute(FeedFixture.DB, "INSERT INTO notes (body) VALUES ('temp-slot')");
                session.awaitInsertedText(0, "temp-slot", WAIT);
            }
        }
        // The collector closed the connection: the temporary slot is gone, so its name is free again.
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            try {
                StreamCollector.createSlot(fixture, "s_temp");
                break;
            } catch (PSQLException e) {
                assertEquals("42710", e.getSQLState(), e.getMessage());
                if (System.nanoTime() > deadline) {
                    fail("temporary slot s_temp outlived its session by 10 s");
                }
                Thread.sleep(100);
            }
        }
        try (Connection c = StreamCollector.connect(fixture)) {
            c.unwrap(PGConnection.class).getReplicationAPI().dropReplicationSlot("s_temp");
        }
        try (Connection c = StreamCollector.connect(fixture)) {
            c.unwrap(PGConnection.class).getReplicationAPI().dropReplicationSlot("s_dup");
        }
        fixture.assertRelayAlive();
    }
}
