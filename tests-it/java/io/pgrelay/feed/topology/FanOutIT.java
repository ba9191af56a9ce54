package io.pgrelay.feed.topology;

import static io.pgrelay.feed.topology.Topology.DB;
import static io.pgrelay.feed.topology.Topology.await;
import static io.pgrelay.feed.topology.Topology.awaitEqual;
import static io.pgrelay.feed.topology.Topology.checkpoint;
import static io.pgrelay.feed.topology.Topology.checkpointCommitTime;
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
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgrelay.config.RelayConfig;
import io.pgrelay.feed.topology.Topology.Background;
import io.pgrelay.feed.topology.Topology.Cleanup;
import io.pgrelay.it.PgCluster;
import io.pgrelay.it.RelayRunner;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fan-out: one parent relay P reads the root and serves its feed; children A and B each have
 * their own feed slot on P and their own downstream database. While a mixed workload runs on the
 * root (thousands of small transactions, a few big ones, updates and deletes), B is stopped
 * cleanly and A keeps running. Meanwhile enough bulky rows go through P that its changelog
 * starts a second segment and A confirms past it: retention could then release the first
 * segment if it ignored B, and must not. B restarts and resumes from its checkpoint; in the end
 * P, A and B equal the root.
 *
 * <p>Exactly once for B: {@code ledger} is insert-only with a primary key and the children run
 * with {@code apply.conflict=error}, so a transaction applied twice would stop B loudly; and B's
 * checkpoint row is sampled every 50 ms, across the restart, and must never go back. While B
 * catches up, P must keep persisting the progress of B's slot (about once a second), or
 * retention could not follow a client that is busy catching up.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class FanOutIT {

    private static final String PUBLICATION = "fanout";
    private static final String[] SCHEMA = {
            "CREATE TABLE ledger (id bigint PRIMARY KEY, acct int NOT NULL, amount int NOT NULL)",
            "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL, touched int NOT NULL)",
            "CREATE TABLE items (id int PRIMARY KEY, v text, n int NOT NULL DEFAULT 0)",
            "CREATE TABLE blobs (id int PRIMARY KEY, payload text NOT NULL)"};
    private static final int ACCOUNTS = 100;
    private static final Duration START = Duration.ofSeconds(30);
    private static final Duration CATCH_UP = Duration.ofSeconds(60);
    /** One blob batch: 100 rows of 64 000 characters of hex, about 6.4 MB of changelog. */
    private static final int BLOB_ROWS = 100;
    private static final int MAX_BLOB_BATCHES = 25;

    private static final List<String> COMPARED = List.of(
            "SELECT count(*), coalesce(sum(id), 0), coalesce(max(id), 0), coalesce(sum(amount), 0) FROM ledger",
            "SELECT id, balance, touched FROM accounts ORDER BY id",
            "SELECT count(*), md5(string_agg(id || ':' || coalesce(v, '-') || ':' || n, ',' ORDER BY id)) FROM items",
            "SELECT count(*), md5(string_agg(id || ':' || md5(payload), ',' ORDER BY id)) FROM blobs");

    @Test
    void stoppedChildResumesFromItsCheckpointAndRetentionKeepsWhatItNeeds() throws Exception {
        long seed = Long.getLong("pgrelay.it.seed", System.nanoTime());
        System.out.println("FanOutIT: seed " + seed);
        boolean[] passed = {false};
        long testStart = System.nanoTime();
        try (Cleanup cleanup = new Cleanup()) {
            Path work = Topology.workDir("FanOutIT");
            cleanup.deleteIfPassed(work, () -> passed[0]);
            PgCluster root = cleanup.add(PgCluster.builder("fanout-root").start());
            PgCluster down = cleanup.add(PgCluster.builder("fanout-down").start());
            root.createDatabase(DB);
            root.execute(DB, SCHEMA);
            root.execute(DB, "INSERT INTO accounts SELECT g, 0, 0 FROM generate_series(1, " + ACCOUNTS + ") g",
                    "CREATE PUBLICATION " + PUBLICATION + " FOR ALL TABLES");
            for (String db : List.of("p", "a", "b")) {
                down.createDatabase(db);
                down.execute(db, SCHEMA);
                // The initial accounts rows predate the slots: seed the downstreams like an initial sync would.
                down.execute(db, "INSERT INTO accounts SELECT g, 0, 0 FROM generate_series(1, " + ACCOUNTS + ") g");
            }

            int feedPort = freePort();
            Path parentData = work.resolve("p");
            RelayConfig parent = config(withFeed(relay("p", root.jdbcUrl(DB), root.user(), root.password(), "to_p",
                    PUBLICATION, down, "p"), feedPort, "feed-pw", parentData));
            RelayConfig childA = config(relay("a", feedUrl(feedPort), "child", "feed-pw", "to_a", PUBLICATION, down, "a"));
            RelayConfig childB = config(relay("b", feedUrl(feedPort), "child", "feed-pw", "to_b", PUBLICATION, down, "b"));

            RelayRunner p = cleanup.add(RelayRunner.start(parent));
            p.awaitStreaming(START);
            RelayRunner a = cleanup.add(RelayRunner.start(childA));
            RelayRunner b = cleanup.add(RelayRunner.start(childB));
            a.awaitStreaming(START);
            b.awaitStreaming(START);

            Background background = cleanup.add(new Background());
            Map<String, RelayRunner> running = Topology.watchRunners(background);
            running.put("p", p);
            running.put("a", a);
            running.put("b", b);

            Workload workload = new Workload(root, background, new Random(seed));
            background.start("fanout-workload", workload::run);
            CheckpointSampler sampler = new CheckpointSampler(down, parentData);
            background.start("fanout-b-checkpoint", () -> sampler.run(background));

            sleep(background, 4_000);

            // ---- B stops cleanly; A keeps going.
            running.remove("b");
            b.close();
            long checkpointAtStop = checkpoint(down, "b", "b");
            long ledgerAtStop = Long.parseLong(down.query("b", "SELECT count(*) FROM ledger").get(0).get(0));
            sleep(background, 1_500); // P persists slot positions at most once a second
            long confirmedAtStop = slotConfirmed(parentData, "to_b");
            System.out.printf("FanOutIT: B stopped at checkpoint %s (%d ledger rows applied); P's slot to_b confirmed %s%n",
                    lsnText(checkpointAtStop), ledgerAtStop, lsnText(confirmedAtStop));
            assertTrue(checkpointAtStop != 0 && ledgerAtStop > 0, "B applied nothing before it was stopped");
            assertTrue(Long.compareUnsigned(confirmedAtStop, checkpointAtStop) <= 0,
                    "P's slot to_b was confirmed past B's durable checkpoint: " + lsnText(confirmedAtStop) + " > "
                            + lsnText(checkpointAtStop));
            assertTrue(confirmedAtStop != 0, "P never persisted a position for to_b");

            // ---- Bulk through P until its changelog starts a second segment, plus one batch.
            List<String> segmentsBefore = segments(parentData);
            assertEquals(1, segmentsBefore.size(), "P's changelog already had several segments: " + segmentsBefore);
            String firstSegment = segmentsBefore.get(0);
            int batches = 0;
            long bulkStart = System.nanoTime();
            while (segments(parentData).size() < 2) {
                if (++batches > MAX_BLOB_BATCHES) {
                    fail("P's changelog did not start a second segment after " + MAX_BLOB_BATCHES * BLOB_ROWS
                            + " blob rows; segments: " + segments(parentData));
                }
                insertBlobs(root, batches);
                background.check();
                // Let P write what was committed before deciding whether another batch is needed.
                await(() -> segments(parentData).size() >= 2 || p.hasExited(), Duration.ofSeconds(2), background);
            }
            insertBlobs(root, ++batches);
            List<String> twoSegments = segments(parentData);
            long secondSegmentKey = Long.parseUnsignedLong(twoSegments.get(1).substring(17, 33), 16);
            awaitEqual(() -> root.query(DB, COMPARED.get(3)), () -> down.query("a", COMPARED.get(3)), CATCH_UP,
                    background, "A: blobs");
            assertTrue(await(() -> Long.compareUnsigned(slotConfirmed(parentData, "to_a"), secondSegmentKey) > 0,
                    Duration.ofSeconds(10), background), "A's slot did not confirm past the second segment's first key");
            long bulkMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - bulkStart);
            sleep(background, 2_500); // retention runs at most once a second

            List<String> whileStopped = segments(parentData);
            System.out.printf("FanOutIT: %d blob batches (%d MB) through P and A in %d ms; P's changelog segments "
                    + "while B is stopped: %s; to_a confirmed %s%n", batches, batches * BLOB_ROWS * 64_000L / 1_000_000,
                    bulkMillis, whileStopped, lsnText(slotConfirmed(parentData, "to_a")));
            assertEquals(firstSegment, whileStopped.get(0),
                    "P's retention released the segment holding what stopped child B still needs");
            assertFalse(slotLost(parentData, "to_b"), "P marked B's slot lost while B was stopped");
            assertEquals(lsnText(confirmedAtStop), lsnText(slotConfirmed(parentData, "to_b")),
                    "P's slot to_b moved while B was stopped");
            assertEquals(lsnText(checkpointAtStop), lsnText(checkpoint(down, "b", "b")),
                    "B's checkpoint moved while B was stopped");

            // ---- B restarts and resumes.
            RelayRunner b2 = cleanup.add(RelayRunner.start(childB));
            b2.awaitStreaming(START);
            running.put("b", b2);
            sleep(background, 3_000);
            workload.stop = true;
            background.check();
            assertTrue(await(() -> workload.done, Duration.ofSeconds(30), background), "workload did not stop");

            long catchUpStart = System.nanoTime();
            for (String db : List.of("p", "a", "b")) {
                for (String q : COMPARED) {
                    awaitEqual(() -> root.query(DB, q), () -> down.query(db, q), CATCH_UP, background, db + ": " + q);
                }
            }
            long catchUpMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - catchUpStart);
            long ledger = workload.nextLedger - 1;
            assertEquals(List.of(List.of(Long.toString(ledger), Long.toString(ledger * (ledger + 1) / 2),
                    Long.toString(ledger))), down.query("b", "SELECT count(*), sum(id), max(id) FROM ledger"),
                    "B's ledger is not exactly 1.." + ledger);

            // Same root position everywhere once idle.
            assertTrue(await(() -> {
                String want = checkpointCommitTime(down, "p", "p");
                return want != null && want.equals(checkpointCommitTime(down, "a", "a"))
                        && want.equals(checkpointCommitTime(down, "b", "b"));
            }, Duration.ofSeconds(15), background), "checkpoint commit_time differs: p=" + checkpointCommitTime(down, "p", "p")
                    + " a=" + checkpointCommitTime(down, "a", "a") + " b=" + checkpointCommitTime(down, "b", "b"));

            // Now that B confirmed past it, retention may (and should) release the first segment:
            // so the check above was not vacuous.
            boolean released = await(() -> !segments(parentData).contains(firstSegment), Duration.ofSeconds(15), background);
            System.out.printf("FanOutIT: P's changelog segments after B caught up: %s%n", segments(parentData));
            assertTrue(released, "P's retention never released the first segment after both children passed it");

            sampler.stop = true;
            assertTrue(await(() -> sampler.done, Duration.ofSeconds(5), background), "sampler did not stop");
            long firstAfterRestart = sampler.firstAfter(checkpointAtStop);
            System.out.printf("FanOutIT: workload %d transactions (%d big), %d ledger rows, %d item ops; B checkpoint "
                            + "samples %d, advances %d, never backwards; first value after restart %s (stopped at %s); "
                            + "catch-up after workload %d ms; test %d s%n",
                    workload.transactions, workload.big, ledger, workload.itemOps.get(), sampler.samples,
                    sampler.advances, lsnText(firstAfterRestart), lsnText(checkpointAtStop), catchUpMillis,
                    TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - testStart));
            assertTrue(workload.transactions >= 2_000, "only " + workload.transactions + " transactions ran");
            assertTrue(workload.big >= 2, "only " + workload.big + " big transactions ran");
            assertTrue(Long.compareUnsigned(checkpoint(down, "b", "b"), checkpointAtStop) > 0,
                    "B's checkpoint did not advance after the restart");
            System.out.println("FanOutIT: longest stale slot position: " + sampler.longestStale);
            assertTrue(sampler.longestStaleMillis < 4_000, "P did not persist the progress of B's slot while B caught "
                    + "up (retention cannot follow a busy client): " + sampler.longestStale);
            assertNull(b2.failure(), "B failed after the restart");
            assertNull(a.failure(), "A failed");

            running.clear();
            background.stopAll(Duration.ofSeconds(10));
            b2.close();
            a.close();
            p.close();
            passed[0] = true;
        }
    }

    private static void insertBlobs(PgCluster root, int batch) throws Exception {
        int first = (batch - 1) * BLOB_ROWS + 1;
        root.execute(DB, "INSERT INTO blobs SELECT g, (SELECT string_agg(md5(g || ':' || i || ':' || random()), '') "
                + "FROM generate_series(1, 2000) i) FROM generate_series(" + first + ", " + (first + BLOB_ROWS - 1) + ") g");
    }

    private static void sleep(Background background, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < deadline) {
            background.check();
            Thread.sleep(Math.min(100, Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()))));
        }
        background.check();
    }

    /** Mixed transactions on the root until stopped; ledger ids are gapless 1..nextLedger-1. */
    private static final class Workload {

        final PgCluster root;
        final Random random;
        volatile boolean stop;
        volatile boolean done;
        volatile long nextLedger = 1;
        volatile long transactions;
        volatile long big;
        final AtomicLong itemOps = new AtomicLong();

        final Background background;

        Workload(PgCluster root, Background background, Random random) {
            this.background = background;
            this.root = root;
            this.random = random;
        }

        void run() throws Exception {
            try (Connection c = root.connect(DB);
                 PreparedStatement ledger = c.prepareStatement("INSERT INTO ledger (id, acct, amount) VALUES (?, ?, ?)");
                 PreparedStatement account = c.prepareStatement(
                         "UPDATE accounts SET balance = balance + ?, touched = touched + 1 WHERE id = ?");
                 PreparedStatement insertItem = c.prepareStatement("INSERT INTO items (id, v) VALUES (?, ?)");
                 PreparedStatement updateItem = c.prepareStatement("UPDATE items SET v = ?, n = n + 1 WHERE id = ?");
                 PreparedStatement deleteItem = c.prepareStatement("DELETE FROM items WHERE id = ?");
                 Statement statement = c.createStatement()) {
                c.setAutoCommit(false);
                int nextItem = 1;
                long id = 1;
                while (!stop && !background.stop) {
                    if (transactions > 0 && transactions % 1500 == 0) {
                        // Big: 5000 inserts, an update of every account, mass update and delete of items.
                        statement.execute("INSERT INTO ledger SELECT g, 1 + g % " + ACCOUNTS + ", g % 7 - 3 "
                                + "FROM generate_series(" + id + ", " + (id + 4999) + ") g");
                        statement.execute("UPDATE accounts SET balance = balance + 1, touched = touched + 1");
                        statement.execute("UPDATE items SET v = v || '+', n = n + 1 WHERE id % 2 = 0");
                        statement.execute("DELETE FROM items WHERE id % 5 = 0");
                        id += 5000;
                        big++;
                    } else {
                        int acct = 1 + random.nextInt(ACCOUNTS);
                        int amount = random.nextInt(200) - 100;
                        ledger.setLong(1, id++);
                        ledger.setInt(2, acct);
                        ledger.setInt(3, amount);
                        ledger.executeUpdate();
                        account.setInt(1, amount);
                        account.setInt(2, acct);
                        account.executeUpdate();
                        int dice = random.nextInt(8);
                        if (dice < 2) {
                            insertItem.setInt(1, nextItem++);
                            insertItem.setString(2, "item " + random.nextInt(1000));
                            insertItem.executeUpdate();
                            itemOps.incrementAndGet();
                        } else if (dice == 2 && nextItem > 1) {
                            updateItem.setString(1, "u" + random.nextInt(1000));
                            updateItem.setInt(2, 1 + random.nextInt(nextItem - 1));
                            updateItem.executeUpdate();
                            itemOps.incrementAndGet();
                        } else if (dice == 3 && nextItem > 1) {
                            deleteItem.setInt(1, 1 + random.nextInt(nextItem - 1));
                            deleteItem.executeUpdate();
                            itemOps.incrementAndGet();
                        }
                    }
                    c.commit();
                    nextLedger = id;
                    transactions++;
                    if (transactions % 2 == 0) {
                        Thread.sleep(1);
                    }
                }
            } finally {
                done = true;
            }
        }
    }

    /**
     * Samples B's checkpoint row and P's persisted position of B's slot every 50 ms. Fails the
     * test if the checkpoint ever goes backwards; measures how long P's slot position stayed put
     * while B's checkpoint was ahead of it (P should persist a streaming slot's progress about
     * once a second, so that retention follows its clients).
     */
    private static final class CheckpointSampler {

        final PgCluster down;
        final Path parentData;
        volatile boolean stop;
        volatile boolean done;
        long samples;
        long advances;
        private long last;
        private final List<Long> values = new java.util.concurrent.CopyOnWriteArrayList<>();
        /** Longest time P's slot position stayed the same while B's checkpoint was past it. */
        volatile long longestStaleMillis;
        volatile String longestStale = "none";
        private long staleSince;
        private long staleConfirmed = -1;
        private long staleCheckpointFrom;

        CheckpointSampler(PgCluster down, Path parentData) {
            this.down = down;
            this.parentData = parentData;
        }

        void run(Background background) throws Exception {
            try {
                while (!stop && !background.stop) {
                    long now = checkpoint(down, "b", "b");
                    long confirmed = slotConfirmed(parentData, "to_b");
                    samples++;
                    if (Long.compareUnsigned(now, last) < 0) {
                        throw new AssertionError("B's checkpoint went back from " + lsnText(last) + " to " + lsnText(now));
                    }
                    if (now != last) {
                        advances++;
                        values.add(now);
                    }
                    last = now;
                    stale(now, confirmed);
                    Thread.sleep(50);
                }
            } finally {
                done = true;
            }
        }

        private void stale(long checkpoint, long confirmed) {
            long t = System.nanoTime();
            if (Long.compareUnsigned(checkpoint, confirmed) <= 0) {
                staleConfirmed = -1;
                return;
            }
            if (confirmed != staleConfirmed) {
                staleConfirmed = confirmed;
                staleSince = t;
                staleCheckpointFrom = checkpoint;
                return;
            }
            long millis = TimeUnit.NANOSECONDS.toMillis(t - staleSince);
            if (millis > longestStaleMillis) {
                longestStaleMillis = millis;
                longestStale = "P's slot to_b stayed at " + lsnText(confirmed) + " for " + millis + " ms while B's checkpoint "
                        + "went from " + lsnText(staleCheckpointFrom) + " to " + lsnText(checkpoint);
            }
        }

        /** The first sampled value above {@code lsn}. */
        long firstAfter(long lsn) {
            for (long value : values) {
                if (Long.compareUnsigned(value, lsn) > 0) {
                    return value;
                }
            }
            fail("no checkpoint sample above " + lsnText(lsn));
            return 0;
        }
    }
}
