package io.pgrelay.sync;

import static io.pgrelay.sync.SyncScenario.DB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.ReplicationPair;
import io.pgrelay.process.RelayProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code kill -9} of a relay process during its initial copy, twice (once soon after the slot is
 * made, once after some tables are done), while the root keeps writing: a restart with no table
 * done starts the copy over under a new snapshot, one with done tables resumes per table (the
 * slot survives a kill) and re-copies the others under a newer snapshot (orders and order_lines
 * in one TRUNCATE: one references the other); it finishes, and every table ends equal; no slot is
 * left behind.
 */
class SyncKillNineIT {

    private static final int BIG_ROWS = 1_000_000;

    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void killedDuringTheCopyRestartsItAndEndsEqual() throws Exception {
        Path runDir = RelayProcess.jar().getParent().resolve("relay-processes")
                .resolve("SyncKillNineIT-" + System.currentTimeMillis());
        try (ReplicationPair pair = ReplicationPair.start("sync-kill9")) {
            pair.schema(SyncScenario.schema());
            pair.upstream(SyncScenario.publication());
            SyncScenario.fill(pair.upstream, BIG_ROWS);
            Properties config = pair.properties("sync_kill9", SyncScenario.PUBLICATION);
            config.setProperty("sync.initial", "true");
            config.setProperty("sync.parallel", "2");

            try (SyncScenario.Workload workload = new SyncScenario.Workload(pair.upstream, 5)) {
                try (RelayProcess first = RelayProcess.start("relay-1", runDir, config)) {
                    assertTrue(first.awaitLog("created upstream slot", Duration.ofSeconds(60)), first.log());
                    Thread.sleep(300);
                    first.kill9();
                }
                assertCopying(pair);
                try (RelayProcess second = RelayProcess.start("relay-2", runDir, config)) {
                    // Killed once some tables are committed: they must be emptied and copied again.
                    assertTrue(second.awaitLog("copied public.t0", Duration.ofSeconds(60)), second.log());
                    // Starts over or resumes, depending on whether a table was done before the first kill.
                    assertTrue(second.log().contains("was interrupted: "), second.log());
                    second.kill9();
                }
                assertCopying(pair);
                try (RelayProcess third = RelayProcess.start("relay-3", runDir, config)) {
                    assertTrue(third.awaitLog("streaming slot", Duration.ofSeconds(180)), third.log());
                    assertTrue(third.log().contains("was interrupted: resuming it per table"), third.log());
                    Thread.sleep(2000);
                    workload.close();
                    SyncScenario.assertEqualEventually(pair.upstream, pair.downstream, Duration.ofSeconds(120));
                    SyncScenario.assertSyncDone(pair.downstream, "sync_kill9");
                    assertEquals(List.of(List.of("sync_kill9")),
                            pair.upstreamRows("SELECT slot_name FROM pg_replication_slots"));
                    third.term();
                    assertEquals(0, third.waitFor(Duration.ofSeconds(30)), third.log());
                }
                System.out.println("SyncKillNineIT: " + workload.transactions() + " root transactions across two kills");
            }
        }
    }

    /** The kill landed before the sync finished: no checkpoint yet, the run still marked copying. */
    private static void assertCopying(ReplicationPair pair) throws Exception {
        assertEquals(List.of(List.of("copying")), pair.downstreamRows("SELECT state FROM pgrelay.sync_run"));
        assertEquals(List.of(List.of("0")), pair.downstreamRows("SELECT count(*) FROM pgrelay.checkpoint"));
    }
}
