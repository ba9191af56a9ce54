package io.pgrelay.feed.topology;

import static io.pgrelay.feed.topology.Topology.DB;
import static io.pgrelay.feed.topology.Topology.await;
import static io.pgrelay.feed.topology.Topology.awaitEqual;
import static io.pgrelay.feed.topology.Topology.checkpoint;
import static io.pgrelay.feed.topology.Topology.config;
import static io.pgrelay.feed.topology.Topology.feedUrl;
import static io.pgrelay.feed.topology.Topology.freePort;
import static io.pgrelay.feed.topology.Topology.lsnText;
import static io.pgrelay.feed.topology.Topology.relay;
import static io.pgrelay.feed.topology.Topology.segments;
import static io.pgrelay.feed.topology.Topology.slotConfirmed;
import static io.pgrelay.feed.topology.Topology.slotLost;
import static io.pgrelay.feed.topology.Topology.withFeed;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgrelay.feed.topology.Topology.Background;
import io.pgrelay.feed.topology.Topology.Cleanup;
import io.pgrelay.it.PgCluster;
import io.pgrelay.it.RelayRunner;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Retention bound: parent P runs with {@code feed.max-retained-bytes=32MB}; child A keeps up,
 * child B is stopped. Bulky rows go through P until B's slot is marked lost (like PostgreSQL's
 * {@code wal_status = lost}); A must keep streaming and stay equal to the root the whole time; P
 * must then release what only B needed; B restarted must stop with a permanent failure (exit
 * code 1) whose message says the slot is lost.
 *
 * <p>As with PostgreSQL's {@code max_slot_wal_keep_size}, a slot is lost once it is more than the
 * bound behind the end, so the bound must exceed the largest transaction plus the few seconds a
 * keeping-up client's confirmed position lags: 32 MB against transactions of about 6.4 MB.
 * Segments are an eighth of the bound (4 MB), so release follows the loss closely. The test writes
 * bulk until B is lost (at most {@value #MAX_BLOB_BATCHES} batches).
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class RetentionIT {

    private static final String PUBLICATION = "retention";
    private static final String[] SCHEMA = {
            "CREATE TABLE events (id bigint PRIMARY KEY, note text)",
            "CREATE TABLE blobs (id int PRIMARY KEY, payload text NOT NULL)"};
    private static final Duration START = Duration.ofSeconds(30);
    private static final Duration CATCH_UP = Duration.ofSeconds(60);
    private static final int BLOB_ROWS = 100;
    private static final int MAX_BLOB_BATCHES = 16;
    private static final String EVENTS = "SELECT count(*), coalesce(sum(id), 0), coalesce(max(id), 0) FROM events";
    private static final String BLOBS = "SELECT count(*), md5(string_agg(id || ':' || md5(payload), ',' ORDER BY id)) FROM blobs";

    @Test
    void slotOfAStoppedChildIsLostPastTheBoundAndTheOtherChildIsUnaffected() throws Exception {
        boolean[] passed = {false};
        long testStart = System.nanoTime();
        try (Cleanup cleanup = new Cleanup()) {
            Path work = Topology.workDir("RetentionIT");
            cleanup.deleteIfPassed(work, () -> passed[0]);
            PgCluster root = cleanup.add(PgCluster.builder("retention-root").start());
            PgCluster down = cleanup.add(PgCluster.builder("retention-down").start());
            root.createDatabase(DB);
            root.execute(DB, SCHEMA);
            root.execute(DB, "CREATE PUBLICATION " + PUBLICATION + " FOR ALL TABLES");
            for (String db : List.of("p", "a", "b")) {
                down.createDatabase(db);
                down.execute(db, SCHEMA);
            }

            int feedPort = freePort();
            Path parentData = work.resolve("p");
            Properties parentProperties = withFeed(relay("p", root.jdbcUrl(DB), root.user(), root.password(), "to_p",
                    PUBLICATION, down, "p"), feedPort, "feed-pw", parentData);
            parentProperties.setProperty("feed.max-retained-bytes", "32MB");
            RelayRunner p = cleanup.add(RelayRunner.start(config(parentProperties)));
            p.awaitStreaming(START);
            var childA = config(relay("a", feedUrl(feedPort), "child", "feed-pw", "to_a", PUBLICATION, down, "a"));
            var childB = config(relay("b", feedUrl(feedPort), "child", "feed-pw", "to_b", PUBLICATION, down, "b"));
            RelayRunner a = cleanup.add(RelayRunner.start(childA));
            RelayRunner b = cleanup.add(RelayRunner.start(childB));
            a.awaitStreaming(START);
            b.awaitStreaming(START);

            Background background = cleanup.add(new Background());
            Map<String, RelayRunner> running = Topology.watchRunners(background);
            running.put("p", p);
            running.put("a", a);
            running.put("b", b);

            // Some traffic that both children apply, then B stops cleanly.
            events(root, 1, 300);
            for (String db : List.of("a", "b")) {
                awaitEqual(() -> root.query(DB, EVENTS), () -> down.query(db, EVENTS), CATCH_UP, background, db + ": events");
            }
            running.remove("b");
            b.close();
            long checkpointB = checkpoint(down, "b", "b");
            String firstSegment = segments(parentData).get(0);

            // Bulk until P marks B's slot lost; A keeps up all along.
            int batches = 0;
            long nextEvent = 301;
            long bulkStart = System.nanoTime();
            while (!slotLost(parentData, "to_b")) {
                if (++batches > MAX_BLOB_BATCHES) {
                    fail("P never marked the slot of stopped child B lost after " + MAX_BLOB_BATCHES * BLOB_ROWS
                            + " blob rows (~" + MAX_BLOB_BATCHES * 6 + " MB) with feed.max-retained-bytes=32MB; segments "
                            + segments(parentData));
                }
                blobs(root, batches);
                events(root, nextEvent, 50);
                nextEvent += 50;
                background.check();
                await(() -> slotLost(parentData, "to_b"), Duration.ofSeconds(2), background);
            }
            long lostAfterMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - bulkStart);
            List<String> segmentsAtLoss = segments(parentData);
            System.out.printf("RetentionIT: B's slot lost after %d blob batches (~%d MB) in %d ms; P's segments then: %s%n",
                    batches, batches * BLOB_ROWS * 64_000L / 1_000_000, lostAfterMillis, segmentsAtLoss);

            // A is not affected: its slot is live and it applies everything.
            awaitEqual(() -> root.query(DB, BLOBS), () -> down.query("a", BLOBS), CATCH_UP, background, "A: blobs");
            awaitEqual(() -> root.query(DB, EVENTS), () -> down.query("a", EVENTS), CATCH_UP, background, "A: events");
            assertFalse(slotLost(parentData, "to_a"), "P marked the slot of child A, which keeps up, lost too");

            // What only B needed goes.
            boolean released = await(() -> !segments(parentData).contains(firstSegment), Duration.ofSeconds(15), background);
            System.out.printf("RetentionIT: P's segments after the loss: %s%n", segments(parentData));
            assertTrue(released, "P kept segment " + firstSegment + " after B's slot was lost");

            // B restarted: a permanent failure naming the lost slot, exit code 1, nothing applied.
            RelayRunner b2 = cleanup.add(RelayRunner.start(childB));
            int code = b2.awaitExit(Duration.ofSeconds(60));
            String failure = b2.failure();
            System.out.printf("RetentionIT: B restarted: exit code %d, failure: %s%n", code, failure);
            assertEquals(1, code, "exit code of B restarted on a lost slot");
            assertNotNull(failure, "B exited without a failure message");
            assertTrue(failure.contains("to_b") && failure.contains("lost"),
                    "B's failure does not say that its slot is lost: " + failure);
            assertFalse(failure.contains("wal_level"), "B's failure sends the operator to the wrong fix (wal_level has "
                    + "nothing to do with a lost slot): " + failure);
            assertEquals(lsnText(checkpointB), lsnText(checkpoint(down, "b", "b")), "B applied something on a lost slot");

            // A goes on.
            events(root, nextEvent, 500);
            nextEvent += 500;
            awaitEqual(() -> root.query(DB, EVENTS), () -> down.query("a", EVENTS), CATCH_UP, background, "A: events at the end");
            awaitEqual(() -> root.query(DB, BLOBS), () -> down.query("p", BLOBS), CATCH_UP, background, "P: blobs");
            assertFalse(slotLost(parentData, "to_a"), "A's slot lost at the end");
            assertTrue(slotConfirmed(parentData, "to_a") != 0);
            assertNull(a.failure(), "A failed");
            System.out.printf("RetentionIT: A equal to the root at the end (%d events); test %d s%n", nextEvent - 1,
                    TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - testStart));

            running.clear();
            background.stopAll(Duration.ofSeconds(10));
            a.close();
            p.close();
            passed[0] = true;
        }
    }

    /** {@code count} single-row transactions with ids from {@code first}. */
    private static void events(PgCluster root, long first, int count) throws Exception {
        try (var c = root.connect(DB); var s = c.prepareStatement("INSERT INTO events VALUES (?, 'e')")) {
            for (long id = first; id < first + count; id++) {
                s.setLong(1, id);
                s.executeUpdate();
            }
        }
    }

    private static void blobs(PgCluster root, int batch) throws Exception {
        int first = (batch - 1) * BLOB_ROWS + 1;
        root.execute(DB, "INSERT INTO blobs SELECT g, (SELECT string_agg(md5(g || ':' || i || ':' || random()), '') "
                + "FROM generate_series(1, 2000) i) FROM generate_series(" + first + ", " + (first + BLOB_ROWS - 1) + ") g");
    }
}
