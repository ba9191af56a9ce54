package io.pgrelay.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgrelay.it.CounterWorkload;
import io.pgrelay.it.ExactlyOnce;
import io.pgrelay.it.ParallelApply;
import io.pgrelay.it.ReplicationPair;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Exactly once under {@code kill -9}: a relay process is killed at random moments while a
 * workload runs on the upstream — single-row, multi-statement and 2000-row transactions, so
 * kills land between transactions, inside an upstream transaction being applied, and inside a
 * downstream group of several upstream transactions. Each kill is followed by a restart. In the
 * end the downstream must equal the upstream: every counter increment applied exactly once
 * (a lost or doubled UPDATE shows in {@code counters.n}), and the insert-only {@code events} log
 * gapless (a doubled INSERT would hit the primary key and, with {@code apply.conflict=error},
 * stop the relay loudly).
 *
 * <p>Runs twice: with serial apply, and with parallel apply ({@code apply.workers} from
 * {@link ParallelApply}), where a kill also lands while several downstream transactions are open
 * at once and some have committed (asynchronously) ahead of the flushed checkpoint.
 *
 * <p>The random schedule is seeded; the seed is printed and can be replayed with
 * {@code -Dpgrelay.it.seed=N}.
 */
class KillNineIT {

    private static final String SLOT = "kill_nine";
    private static final String PUBLICATION = "kill_nine_pub";
    private static final Duration WORKLOAD = Duration.ofSeconds(27);
    private static final Duration CATCH_UP = Duration.ofSeconds(90);
    /** The relay's shutdown.timeout is 20 s (ReplicationPair); exit must come within it plus JVM exit. */
    private static final Duration SHUTDOWN_BOUND = Duration.ofSeconds(25);
    private static final int MIN_KILLS = 5;
    /** An aimed kill asks for a large transaction this long before its planned moment. */
    private static final long AIM_LEAD_MILLIS = 600;

    private static final String COUNTERS_SQL = CounterWorkload.COUNTERS_SQL;
    private static final String EVENTS_SQL = CounterWorkload.EVENTS_SQL;
    /** A log line at level ERROR (logback pattern: timestamp, level, thread, logger). */
    private static final Pattern ERROR_LINE = Pattern.compile("^\\S+\\s+ERROR\\s");

    static Stream<Arguments> applyModes() {
        return Stream.of(Arguments.of("serial", 1), Arguments.of("parallel", ParallelApply.workers()));
    }

    @ParameterizedTest(name = "{0} apply (apply.workers={1})")
    @MethodSource("applyModes")
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void killNineAtRandomMomentsNeitherLosesNorDoublesATransaction(String mode, int workers) throws Exception {
        long seed = Long.getLong("pgrelay.it.seed", System.nanoTime());
        System.out.println("KillNineIT: " + mode + " apply (apply.workers=" + workers + ") seed " + seed
                + " (replay with -Dpgrelay.it.seed=" + seed + ")");
        Random schedule = new Random(seed);
        Path runDir = RelayProcess.jar().getParent().resolve("relay-processes")
                .resolve("KillNineIT-" + mode + "-" + System.currentTimeMillis());

        try (ReplicationPair pair = ReplicationPair.start("kill9")) {
            pair.schema(CounterWorkload.SCHEMA);
            pair.schema(CounterWorkload.seed());
            pair.upstream("CREATE PUBLICATION " + PUBLICATION + " FOR TABLE counters, events");

            Properties config = ParallelApply.configure(pair.properties(SLOT, PUBLICATION), workers);
            config.setProperty("apply.conflict", "error");
            // Asynchronous downstream commits: the checkpoint is acknowledged only once flushed.
            config.setProperty("apply.async-commit", "true");

            List<RelayProcess> relays = new ArrayList<>();
            CounterWorkload workload = CounterWorkload.on(pair.upstream, ReplicationPair.DB, new Random(seed * 31 + 7));
            try {
                RelayProcess relay = startRelay(relays, runDir, config);
                awaitSlotActive(pair, relay, Duration.ofSeconds(60));

                workload.start();
                long workloadEnd = System.nanoTime() + WORKLOAD.toNanos();
                int kills = 0;
                int killsWhileStreaming = 0;
                int killsMidTransaction = 0;
                int aimedKills = 0;
                // One cycle, early on, stops the relay with SIGTERM instead: a clean stop under load.
                int termCycle = schedule.nextInt(4);
                String termStop = "none";
                for (int cycle = 0; ; cycle++) {
                    // The random moment counts from when the relay streams: a loaded machine may
                    // take longer to start a JVM than the pause lasts.
                    assertTrue(relay.awaitLog("streaming slot", Duration.ofSeconds(60)),
                            "relay " + relay.name() + " did not stream within 60 s; log:\n" + relay.log());
                    long pause = 1000 + schedule.nextInt(3001);
                    long left = TimeUnit.NANOSECONDS.toMillis(workloadEnd - System.nanoTime());
                    if (left < pause && kills >= MIN_KILLS) {
                        break;
                    }
                    boolean aimed = schedule.nextBoolean();
                    if (aimed) {
                        // Aim: have the workload commit a large transaction just before the kill,
                        // so the kill lands while the relay applies it (or a group containing it).
                        Thread.sleep(pause - AIM_LEAD_MILLIS);
                        workload.awaitLargeCommit(Duration.ofMillis(AIM_LEAD_MILLIS * 3));
                        Thread.sleep(schedule.nextInt(150));
                    } else {
                        Thread.sleep(pause);
                    }
                    if (!relay.isAlive()) {
                        fail("relay " + relay.name() + " exited by itself with code " + relay.exitCode()
                                + " before kill " + (kills + 1) + "; log:\n" + relay.log());
                    }
                    if (workload.failed()) {
                        break; // reported below
                    }
                    if (cycle == termCycle) {
                        termStop = stopCleanlyUnderLoad(pair, relay);
                    } else {
                        if (relay.log().contains("streaming slot")) {
                            killsWhileStreaming++;
                        }
                        // From the third kill on, until one has: wait (up to 3 s) for the relay to
                        // hold a downstream write transaction open, so the run is sure to cover a
                        // kill there even when the relay keeps up and its transactions are short.
                        boolean midTransaction = killsMidTransaction == 0 && kills >= 2
                                ? awaitDownstreamWrite(pair, Duration.ofSeconds(3))
                                : downstreamWriteInProgress(pair);
                        relay.kill9();
                        kills++;
                        if (midTransaction) {
                            killsMidTransaction++;
                        }
                        if (aimed) {
                            aimedKills++;
                        }
                    }
                    if (schedule.nextBoolean()) {
                        Thread.sleep(schedule.nextInt(1000));
                    }
                    relay = startRelay(relays, runDir, config);
                }
                workload.stop();

                // The relay started after the last kill is the final one: it must catch up.
                long catchUpStarted = System.nanoTime();
                awaitCaughtUp(pair, relay);
                long catchUpMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - catchUpStarted);

                // Upstream is what the workload committed; downstream is the same, exactly once.
                long events = workload.events();
                System.out.printf("KillNineIT: %s apply (apply.workers=%d) seed=%d kills=%d (aimed just after a large transaction: %d, "
                                + "while streaming: %d, with an open downstream write transaction: %d) SIGTERM under load: %s "
                                + "relay processes=%d %s catch-up after workload=%d ms%n",
                        mode, workers, seed, kills, aimedKills, killsWhileStreaming, killsMidTransaction, termStop, relays.size(),
                        workload.summary(), catchUpMillis);

                ExactlyOnce.assertExact(pair.upstream, ReplicationPair.DB, workload, "upstream (vs the workload)");
                ExactlyOnce.assertExact(pair.downstream, ReplicationPair.DB, workload, "downstream");

                // Clean stop: exit 0 within the bound, and the slot acknowledges exactly the checkpoint.
                relay.term();
                assertEquals(0, relay.waitFor(SHUTDOWN_BOUND), "exit code after SIGTERM; log:\n" + relay.log());
                String checkpoint = awaitCheckpointEqualsSlot(pair);
                System.out.println("KillNineIT: clean stop at checkpoint " + checkpoint + " = slot confirmed_flush_lsn");

                for (RelayProcess each : relays) {
                    assertCleanLog(each);
                }
                assertTrue(relay.log().contains("streaming slot"), "the final relay never streamed; log:\n" + relay.log());
                assertTrue(kills >= MIN_KILLS, "only " + kills + " kills happened: the schedule is broken");
                assertTrue(killsWhileStreaming >= 3, "only " + killsWhileStreaming + " of " + kills
                        + " kills landed while the relay was streaming");
                assertTrue(killsMidTransaction >= 1, "no kill landed inside a downstream write transaction");

            } finally {
                workload.halt();
                for (RelayProcess each : relays) {
                    each.close();
                }
            }
        }
    }

    private static RelayProcess startRelay(List<RelayProcess> relays, Path runDir, Properties config) {
        RelayProcess relay = RelayProcess.start(String.format("relay-%02d", relays.size()), runDir, config);
        relays.add(relay);
        return relay;
    }

    /**
     * SIGTERM while the workload runs: exit 0 within the shutdown bound, and the slot acknowledges
     * exactly the checkpoint the relay committed. Waits until the relay streams first: a signal
     * that arrives while the JVM is still booting is not what this checks.
     */
    private static String stopCleanlyUnderLoad(ReplicationPair pair, RelayProcess relay) throws Exception {
        assertTrue(relay.awaitLog("streaming slot", Duration.ofSeconds(30)),
                relay.name() + " did not stream within 30 s; log:\n" + relay.log());
        relay.term();
        long signalled = System.nanoTime();
        assertEquals(0, relay.waitFor(SHUTDOWN_BOUND), "exit code after SIGTERM under load; log:\n" + relay.log());
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - signalled);
        String checkpoint = awaitCheckpointEqualsSlot(pair);
        return "exit 0 after " + millis + " ms at checkpoint " + checkpoint;
    }

    /** True when the relay's downstream connection is inside a transaction that has written rows. */
    private static boolean awaitDownstreamWrite(ReplicationPair pair, Duration timeout) throws SQLException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (downstreamWriteInProgress(pair)) {
                return true;
            }
        }
        return false;
    }

    private static boolean downstreamWriteInProgress(ReplicationPair pair) throws SQLException {
        return !pair.downstreamRows("SELECT pid FROM pg_stat_activity WHERE application_name = 'pgrelay:" + SLOT
                + "' AND backend_xid IS NOT NULL").isEmpty();
    }

    private static void awaitSlotActive(ReplicationPair pair, RelayProcess relay, Duration timeout) throws Exception {
        boolean active = relay.await(() -> {
            try {
                return List.of(List.of("t")).equals(pair.upstreamRows(
                        "SELECT active FROM pg_replication_slots WHERE slot_name = '" + SLOT + "'"));
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        }, timeout);
        assertTrue(active, "slot " + SLOT + " not active within " + timeout.toSeconds() + " s; relay log:\n"
                + relay.log());
    }

    /** Waits until both sides agree on both queries; fails fast with the log if the relay exits. */
    private static void awaitCaughtUp(ReplicationPair pair, RelayProcess relay) throws Exception {
        long deadline = System.nanoTime() + CATCH_UP.toNanos();
        List<List<String>> upCounters = pair.upstreamRows(COUNTERS_SQL);
        List<List<String>> upEvents = pair.upstreamRows(EVENTS_SQL);
        List<List<String>> downCounters = null;
        List<List<String>> downEvents = null;
        while (System.nanoTime() < deadline) {
            downCounters = pair.downstreamRows(COUNTERS_SQL);
            downEvents = pair.downstreamRows(EVENTS_SQL);
            if (upCounters.equals(downCounters) && upEvents.equals(downEvents)) {
                return;
            }
            if (!relay.isAlive()) {
                fail("final relay exited with code " + relay.exitCode() + " before catching up; log:\n" + relay.log());
            }
            Thread.sleep(200);
        }
        assertEquals(upEvents, downEvents, "events: downstream did not catch up within " + CATCH_UP.toSeconds()
                + " s; relay log:\n" + relay.log());
        assertEquals(upCounters, downCounters, "counters: downstream did not catch up within "
                + CATCH_UP.toSeconds() + " s");
    }

    /**
     * After a clean stop the upstream slot's confirmed_flush_lsn is exactly the downstream
     * checkpoint: feedback never passed the durable checkpoint, and the final feedback reached it.
     * Polls briefly: the walsender may still be processing the last status message.
     */
    private static String awaitCheckpointEqualsSlot(ReplicationPair pair) throws Exception {
        String checkpointSql = "SELECT end_lsn::text FROM pgrelay.checkpoint WHERE relay_name = '" + SLOT + "'";
        String slotSql = "SELECT confirmed_flush_lsn::text, active FROM pg_replication_slots WHERE slot_name = '"
                + SLOT + "'";
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<List<String>> checkpoint;
        List<List<String>> slot;
        do {
            checkpoint = pair.downstreamRows(checkpointSql);
            slot = pair.upstreamRows(slotSql);
            if (checkpoint.size() == 1 && slot.size() == 1 && "f".equals(slot.get(0).get(1))
                    && Objects.equals(checkpoint.get(0).get(0), slot.get(0).get(0))) {
                return checkpoint.get(0).get(0);
            }
            Thread.sleep(100);
        } while (System.nanoTime() < deadline);
        assertEquals(1, checkpoint.size(), "checkpoint row of relay " + SLOT + " on the downstream");
        assertEquals(1, slot.size(), "slot " + SLOT + " on the upstream");
        assertEquals("f", slot.get(0).get(1), "slot still active 10 s after the relay exited");
        assertEquals(checkpoint.get(0).get(0), slot.get(0).get(0),
                "upstream slot confirmed_flush_lsn vs downstream pgrelay.checkpoint end_lsn after a clean stop");
        return checkpoint.get(0).get(0);
    }

    private static void assertCleanLog(RelayProcess relay) {
        List<String> bad = new ArrayList<>();
        for (String line : relay.logLines()) {
            if (ERROR_LINE.matcher(line).find() || line.contains("23505") || line.contains("duplicate key")
                    || line.startsWith("Exception in thread") || line.startsWith("\tat ")) {
                bad.add(line);
            }
        }
        assertTrue(bad.isEmpty(), relay.name() + " logged a failure or conflict:\n" + String.join("\n", bad)
                + "\nfull log:\n" + relay.log());
    }

}
