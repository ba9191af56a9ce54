package io.pgrelay.fault;

import io.pgrelay.it.fault.FaultTally;
import io.pgrelay.process.RelayProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.DisabledIfSystemProperty;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Fault injection under a workload that detects loss and doubling (see {@link FaultRun} for the
 * topology and the checks). Two lengths:
 *
 * <ul>
 *   <li>short, part of {@code mvn verify}: every kind of fault once ({@link Fault#SHORT});
 *   <li>long: {@code mvn verify -Dit.test=FaultIT -Dpgrelay.faults=long [-Dpgrelay.faults.seconds=900]
 *       [-Dpgrelay.it.seed=N] [-Dpgrelay.faults.only=KILL9,UPSTREAM_BLACK_HOLE]} — faults drawn at random
 *       (seeded, from all kinds or the ones named) until the time is up.
 * </ul>
 *
 * <p>Each run writes its figures to {@code target/faults/summary-short.md} or
 * {@code summary-long.md}; docs/RELIABILITY.md shows a long run's table.
 */
@Tag("faults")
class FaultIT {

    private static final String MODE = "pgrelay.faults";

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    @DisabledIfSystemProperty(named = MODE, matches = "long")
    void shortRunEveryFaultOnce() throws Exception {
        long seed = seed();
        run("short", seed, (run, random) -> {
            for (Fault fault : Fault.SHORT) {
                run.inject(fault);
            }
        });
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.HOURS)
    @EnabledIfSystemProperty(named = MODE, matches = "long")
    void longRunRandomFaults() throws Exception {
        long seconds = Long.getLong(MODE + ".seconds", 900);
        long seed = seed();
        run("long", seed, (run, random) -> {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            String only = System.getProperty(MODE + ".only", "");
            Fault[] all = only.isBlank() ? Fault.values()
                    : java.util.Arrays.stream(only.split(",")).map(String::trim).map(Fault::valueOf).toArray(Fault[]::new);
            while (System.nanoTime() < end) {
                run.inject(all[random.nextInt(all.length)]);
            }
        });
    }

    @FunctionalInterface
    private interface Schedule {
        void inject(FaultRun run, Random random) throws Exception;
    }

    private static long seed() {
        long seed = Long.getLong("pgrelay.it.seed", System.nanoTime());
        System.out.println("FaultIT: seed " + seed + " (replay with -Dpgrelay.it.seed=" + seed + ")");
        return seed;
    }

    private static void run(String mode, long seed, Schedule schedule) throws Exception {
        Path target = RelayProcess.jar().getParent();
        Path work = Files.createTempDirectory(Files.createDirectories(target.resolve("faults")), mode + "-");
        FaultTally tally = new FaultTally();
        long started = System.nanoTime();
        boolean passed = false;
        try (FaultRun run = new FaultRun(seed, tally, work)) {
            try {
                run.start();
                schedule.inject(run, new Random(seed ^ 0x5DEECE66DL));
                run.finish();
                passed = true;
            } finally {
                run.noteErrorLines();
                tally.figure("seed", seed);
                tally.figure("run time", TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started) + " s");
                tally.figure("result", passed ? "passed" : "FAILED");
                tally.write(target.resolve("faults").resolve("summary-" + mode + ".md"),
                        "Fault run (" + mode + ", upstream/downstream/feed timeouts " + FaultRun.TIMEOUT_SECONDS + " s)");
            }
        }
        System.out.println("FaultIT: relay logs and data in " + work);
    }
}
