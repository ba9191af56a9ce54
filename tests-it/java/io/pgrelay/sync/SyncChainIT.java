package io.pgrelay.sync;

import static io.pgrelay.sync.SyncScenario.DB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.it.PgCluster;
import io.pgrelay.it.RelayRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * root → R1 → R2, where R2 starts with empty tables after R1 has streamed for a while: R2 copies
 * from R1's downstream under the snapshot R1 exports at R2's feed slot start, never from the
 * root, while the root keeps writing; the leaf ends equal to the root.
 */
class SyncChainIT {

    private static final int BIG_ROWS = 200_000;

    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void aChildCopiesFromItsParentsDownstreamAndMeetsTheStreamExactly() throws Exception {
        Path dataDirs = Files.createTempDirectory("pgrelay-sync-chain");
        try (PgCluster root = PgCluster.builder("schain-root").start();
             PgCluster d1 = PgCluster.builder("schain-d1").start();
             PgCluster d2 = PgCluster.builder("schain-d2").start()) {
            for (PgCluster cluster : List.of(root, d1, d2)) {
                cluster.createDatabase(DB);
            }
            // Only the root has tables: R1 creates its own from the root's catalog, R2 from R1's downstream.
            root.execute(DB, SyncScenario.schema());
            root.execute(DB, SyncScenario.publication());
            SyncScenario.fill(root, BIG_ROWS);
            int feedPort = freePort();

            Properties p1 = relay("r1", root.jdbcUrl(DB), root.user(), root.password(), d1, dataDirs);
            p1.setProperty("feed.listen", "127.0.0.1:" + feedPort);
            p1.setProperty("feed.user", "child");
            p1.setProperty("feed.password", "feed-secret");
            Properties p2 = relay("r2", "jdbc:postgresql://127.0.0.1:" + feedPort + "/" + DB, "child", "feed-secret", d2,
                    dataDirs);
            p2.setProperty("sync.source.url", d1.jdbcUrl(DB));
            p2.setProperty("sync.source.user", d1.user());
            p2.setProperty("sync.source.password", d1.password());

            try (SyncScenario.Workload workload = new SyncScenario.Workload(root, 23);
                 RelayRunner r1 = RelayRunner.start(config(p1))) {
                r1.awaitStreaming(Duration.ofMinutes(2));
                Thread.sleep(3000); // R1 streams the root's writes for a while
                long before = workload.transactions();
                Properties noSource = (Properties) p2.clone();
                noSource.remove("sync.source.url");
                try (RelayRunner lost = RelayRunner.start(config(noSource))) {
                    assertEquals(1, lost.awaitExit(Duration.ofSeconds(60)));
                    assertTrue(lost.failure().contains("upstream.url is a pgrelay feed: set sync.source.url"), lost.failure());
                }
                try (RelayRunner r2 = RelayRunner.start(config(p2))) {
                    r2.awaitStreaming(Duration.ofMinutes(2));
                    Thread.sleep(2000);
                    workload.close();
                    assertTrue(workload.transactions() > before, "the root wrote nothing while R2 copied");
                    SyncScenario.assertEqualEventually(root, d2, Duration.ofSeconds(120));
                    SyncScenario.assertEqualEventually(root, d1, Duration.ofSeconds(60));
                    SyncScenario.assertSyncDone(d2, "r2");
                    // R2 copied from R1's downstream: the root has no slot of R2's, only R1's.
                    assertEquals(List.of(List.of("to_r1")), root.query(DB, "SELECT slot_name FROM pg_replication_slots"));
                    // The seam: R2's copy ended at a checkpoint of R1, and R2 streamed on from there.
                    String consistentPoint = d2.query(DB, "SELECT consistent_point FROM pgrelay.sync_run").get(0).get(0);
                    System.out.println("SyncChainIT: R2 copied at R1's checkpoint " + consistentPoint + "; "
                            + workload.transactions() + " root transactions in all");
                }
            }
        }
    }

    private static Properties relay(String name, String upstreamUrl, String user, String password, PgCluster downstream,
                                    Path dataDirs) {
        Properties p = new Properties();
        p.setProperty("relay.name", name);
        p.setProperty("upstream.url", upstreamUrl);
        p.setProperty("upstream.user", user);
        p.setProperty("upstream.password", password);
        p.setProperty("upstream.slot", "to_" + name);
        p.setProperty("upstream.publications", SyncScenario.PUBLICATION);
        p.setProperty("upstream.status-interval", "1s");
        p.setProperty("downstream.url", downstream.jdbcUrl(DB));
        p.setProperty("downstream.user", downstream.user());
        p.setProperty("downstream.password", downstream.password());
        p.setProperty("data.dir", dataDirs.resolve(name).toString());
        p.setProperty("sync.initial", "true");
        p.setProperty("schema.create", "true");
        p.setProperty("retry.initial-backoff", "100ms");
        p.setProperty("retry.max-backoff", "1s");
        return p;
    }

    private static RelayConfig config(Properties p) {
        return ConfigLoader.fromProperties(p, Map.of());
    }

    private static int freePort() throws Exception {
        try (var socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
