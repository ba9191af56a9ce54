package io.pgrelay.feed.topology;

import static io.pgrelay.feed.topology.Topology.DB;
import static io.pgrelay.feed.topology.Topology.await;
import static io.pgrelay.feed.topology.Topology.awaitEqual;
import static io.pgrelay.feed.topology.Topology.config;
import static io.pgrelay.feed.topology.Topology.feedUrl;
import static io.pgrelay.feed.topology.Topology.freePort;
import static io.pgrelay.feed.topology.Topology.relay;
import static io.pgrelay.feed.topology.Topology.withFeed;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.pgrelay.feed.topology.Topology.Background;
import io.pgrelay.feed.topology.Topology.Cleanup;
import io.pgrelay.it.PgCluster;
import io.pgrelay.it.RelayRunner;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Start order: operators start a whole chain at once (compose, systemd), so a middle relay may
 * reach its parent's feed before the parent has ever reached the root. The parent then cannot
 * answer IDENTIFY_SYSTEM yet ("try again shortly"); the child must wait and retry like for any
 * other unavailable upstream, not stop for good. Made deterministic by keeping the root down
 * while both relays start.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class StartOrderIT {

    private static final String PUBLICATION = "start_order";
    private static final String ROWS = "SELECT id, v FROM t ORDER BY id";

    @Test
    void middleRelayStartedBeforeItsParentReachedTheRootWaitsForIt() throws Exception {
        boolean[] passed = {false};
        try (Cleanup cleanup = new Cleanup()) {
            Path work = Topology.workDir("StartOrderIT");
            cleanup.deleteIfPassed(work, () -> passed[0]);
            PgCluster root = cleanup.add(PgCluster.builder("order-root").start());
            PgCluster down = cleanup.add(PgCluster.builder("order-down").start());
            root.createDatabase(DB);
            root.execute(DB, "CREATE TABLE t (id int PRIMARY KEY, v text)", "CREATE PUBLICATION " + PUBLICATION + " FOR ALL TABLES");
            for (String db : List.of("d1", "d2")) {
                down.createDatabase(db);
                down.execute(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
            }
            root.stop();

            int port1 = freePort();
            int port2 = freePort();
            RelayRunner r1 = cleanup.add(RelayRunner.start(config(withFeed(relay("r1", root.jdbcUrl(DB), root.user(),
                    root.password(), "to_r1", PUBLICATION, down, "d1"), port1, "pw-1", work.resolve("r1")))));
            // The middle relay has a feed of its own, so it asks its parent for the root's identity.
            RelayRunner r2 = cleanup.add(RelayRunner.start(config(withFeed(relay("r2", feedUrl(port1), "child", "pw-1",
                    "to_r2", PUBLICATION, down, "d2"), port2, "pw-2", work.resolve("r2")))));
            Background background = cleanup.add(new Background());
            Map<String, RelayRunner> running = Topology.watchRunners(background);
            running.put("r1", r1);
            running.put("r2", r2);

            // Root down for a while: both relays must keep retrying.
            await(() -> false, Duration.ofSeconds(4), background);
            assertFalse(r2.hasExited(), "the middle relay stopped while its parent had not reached the root yet: "
                    + r2.failure());

            root.start();
            r1.awaitStreaming(Duration.ofSeconds(30));
            r2.awaitStreaming(Duration.ofSeconds(30));
            root.execute(DB, "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 100) g");
            for (String db : List.of("d1", "d2")) {
                awaitEqual(() -> root.query(DB, ROWS), () -> down.query(db, ROWS), Duration.ofSeconds(30), background, db);
            }
            running.clear();
            background.stopAll(Duration.ofSeconds(5));
            r2.close();
            r1.close();
            passed[0] = true;
        }
    }
}
