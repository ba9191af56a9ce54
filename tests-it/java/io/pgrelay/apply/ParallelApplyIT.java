package io.pgrelay.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgrelay.apply.CheckpointSampler.Sample;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.it.ParallelApply;
import io.pgrelay.it.RelayRunner;
import io.pgrelay.it.ReplicationPair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.replication.LogSequenceNumber;

/**
 * Parallel apply ({@code apply.workers}, see {@link ParallelApply}) against a root workload of
 * concurrent clients whose transactions conflict in every way the apply must respect — hot rows,
 * inserts that depend on another table's row through a foreign key, primary key changes and
 * key reuse, swaps through a temporary key, delete and reinsert, a multi-table transaction,
 * TRUNCATEs and an added column midway (barriers), a secondary UNIQUE value moving between rows,
 * duplicate rows in a table without key — and many that do not conflict at all ({@link ConflictWorkload}).
 *
 * <p>Two checks. Final equality: every table has the same content on both sides. And the
 * checkpoint is exact at every moment a reader can observe: a sampler reads, in one downstream
 * snapshot, the checkpoint and the ids of {@code txlog} (one row per root transaction); a slot
 * of the test's own tells each id's commit end LSN. In every sample the ids present must be
 * exactly those whose transaction ends at or before the checkpoint: a checkpoint past an
 * unapplied transaction (a restart would skip it: loss) fails, and so does an applied
 * transaction the checkpoint does not cover (a restart would apply it again: a double), and so
 * does a later transaction visible before an earlier one.
 *
 * <p>The clients' choices are seeded; the seed is printed and can be replayed with
 * {@code -Dpgrelay.it.seed=N} (thread timing still varies).
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class ParallelApplyIT {

    private static final String SLOT = "parit";
    private static final String PUBLICATION = "parit_pub";
    private static final String ORACLE_SLOT = "parit_oracle";
    private static final Duration WORKLOAD = Duration.ofSeconds(15);
    private static final Duration START = Duration.ofSeconds(60);
    private static final Duration CATCH_UP = Duration.ofSeconds(90);
    private static final long SAMPLE_PAUSE_MILLIS = 10;
    private static final int MIN_SAMPLES = 200;
    private static final int MIN_INTERMEDIATE_CHECKPOINTS = 20;
    private static final int GROUP_CHANGES = 100;
    /** How many violations a failure lists. */
    private static final int SHOWN = 5;

    @Test
    void conflictingTransactionsApplyAsCommittedAndTheCheckpointIsExactInEverySnapshot() throws Exception {
        long started = System.nanoTime();
        int workers = ParallelApply.workers();
        long seed = Long.getLong("pgrelay.it.seed", System.nanoTime());
        System.out.println("ParallelApplyIT: apply.workers=" + workers + " seed " + seed
                + " (replay with -Dpgrelay.it.seed=" + seed + ")");

        try (ReplicationPair pair = ReplicationPair.start("parit")) {
            pair.schema(ConflictWorkload.SCHEMA);
            pair.schema(ConflictWorkload.seed());
            pair.upstream("CREATE PUBLICATION " + PUBLICATION + " FOR TABLE " + String.join(", ", ConflictWorkload.TABLES));
            Properties properties = ParallelApply.configure(pair.properties(SLOT, PUBLICATION), workers);
            properties.setProperty("apply.conflict", "error");
            properties.setProperty("apply.async-commit", "true");
            // Small downstream groups: many commits in flight at once, many checkpoints to sample.
            properties.setProperty("apply.group-changes", Integer.toString(GROUP_CHANGES));
            // Units of 10 changes (many in flight at once); transactions above max(group-changes,
            // 10 x batch-size) = 100 changes stream to their lane.
            properties.setProperty("apply.batch-size", "10");
            properties.setProperty("schema.add-columns", "true");
            RelayConfig config = pair.config(properties);

            ConflictWorkload workload = new ConflictWorkload(pair.upstream, ReplicationPair.DB, seed);
            CheckpointSampler sampler = new CheckpointSampler(pair.downstream, ReplicationPair.DB, config.relayName(),
                    SAMPLE_PAUSE_MILLIS);
            try (TxlogCommits oracle = TxlogCommits.createSlot(pair.upstream, ReplicationPair.DB, ORACLE_SLOT, PUBLICATION);
                 RelayRunner relay = RelayRunner.start(config)) {
                relay.awaitStreaming(START);
                try {
                    sampler.start();
                    workload.start();
                    runWorkload(relay, workload, sampler);
                    workload.stop();
                    long caughtUpMillis = awaitCaughtUp(pair, relay);
                    List<Sample> samples = sampler.stop();
                    Map<Long, LogSequenceNumber> commits = oracle.read();

                    System.out.printf("ParallelApplyIT: apply.workers=%d %s; catch-up %d ms; %d samples, "
                                    + "%d distinct intermediate checkpoints; %d txlog commits in the test slot; total %d ms%n",
                            workers, workload.summary(), caughtUpMillis, samples.size(), intermediateCheckpoints(samples),
                            commits.size(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
                    assertWorkloadCoverage(workload, commits);
                    assertCheckpointExact(samples, commits);
                    assertSamplesTellSomething(samples, commits);
                } finally {
                    workload.halt();
                    sampler.halt();
                }
            }
        }
    }

    /** Something the main thread does to the root while the clients run. */
    @FunctionalInterface
    private interface Midway {
        void run(ConflictWorkload workload) throws Exception;
    }

    /** Lets the clients run, with the barriers spread over the run; fails fast on any death. */
    private static void runWorkload(RelayRunner relay, ConflictWorkload workload, CheckpointSampler sampler)
            throws Exception {
        List<Midway> barriers = List.of(ConflictWorkload::truncateBulk, ConflictWorkload::addColumnToKv,
                ConflictWorkload::truncateBulk);
        long slice = WORKLOAD.toMillis() / (barriers.size() + 1);
        for (int i = 0; i <= barriers.size(); i++) {
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(slice);
            while (System.nanoTime() < until) {
                if (relay.hasExited()) {
                    fail("the relay stopped during the workload: " + relay.failure());
                }
                if (workload.failed() || sampler.failed()) {
                    return; // their stop() throws the error
                }
                Thread.sleep(50);
            }
            if (i < barriers.size()) {
                barriers.get(i).run(workload);
            }
        }
    }

    /** Waits until every table matches the root; returns how long that took. */
    private static long awaitCaughtUp(ReplicationPair pair, RelayRunner relay) throws Exception {
        long start = System.nanoTime();
        long deadline = start + CATCH_UP.toNanos();
        String digest = ConflictWorkload.digestSql();
        List<List<String>> root = pair.upstreamRows(digest);
        List<List<String>> downstream = pair.downstreamRows(digest);
        while (!root.equals(downstream) && System.nanoTime() < deadline) {
            if (relay.hasExited()) {
                fail("the relay stopped before catching up: " + relay.failure());
            }
            Thread.sleep(100);
            downstream = pair.downstreamRows(digest);
        }
        assertEquals(root, downstream, "tables (name, rows, md5 of the ordered rows): downstream differs from the root "
                + CATCH_UP.toSeconds() + " s after the workload");
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    }

    /** Every kind of conflict happened, and the test slot saw every root transaction. */
    private static void assertWorkloadCoverage(ConflictWorkload workload, Map<Long, LogSequenceNumber> commits) {
        for (String kind : List.of("large", "distinct-insert", "distinct-update", "hot-row", "fk-parent-insert", "fk-child-insert",
                "fk-child-delete", "fk-child-move", "fk-parent-delete", "pk-change", "pk-reuse", "pk-swap", "pk-swap-step",
                "pk-swap-follow", "delete", "reinsert", "multi-table", "bulk-upsert", "unique-release", "unique-take",
                "bag-insert", "bag-update", "bag-delete")) {
            assertTrue(workload.transactions(kind) > 0, "the workload ran no '" + kind + "' transaction: "
                    + workload.summary());
        }
        assertEquals(2, workload.transactions("truncate"), "TRUNCATEs of bulk");
        assertEquals(1, workload.transactions("relation-change"), "transactions after the column was added to kv");
        assertEquals(workload.totalTransactions(), commits.size(),
                "root transactions committed vs transactions with a txlog row in the test slot");
    }

    /**
     * The oracle: in each sample, the txlog ids present are exactly those of transactions whose
     * commit ends at or before the sampled checkpoint, and checkpoints never go back.
     */
    private static void assertCheckpointExact(List<Sample> samples, Map<Long, LogSequenceNumber> commits) {
        CommitOrder order = CommitOrder.of(commits);
        List<String> violations = new ArrayList<>();
        LogSequenceNumber previous = LogSequenceNumber.INVALID_LSN;
        for (Sample sample : samples) {
            if (Long.compareUnsigned(sample.checkpoint().asLong(), previous.asLong()) < 0) {
                violations.add("sample " + sample.number() + ": checkpoint went back from " + previous.asString() + " to "
                        + sample.checkpoint().asString());
            }
            previous = sample.checkpoint();
            BitSet expected = order.coveredBy(sample.checkpoint());
            BitSet missing = (BitSet) expected.clone();
            missing.andNot(sample.ids());
            BitSet extra = (BitSet) sample.ids().clone();
            extra.andNot(expected);
            if (!missing.isEmpty() || !extra.isEmpty()) {
                violations.add("sample " + sample.number() + " at checkpoint " + sample.checkpoint().asString() + " ("
                        + sample.ids().cardinality() + " txlog rows, " + expected.cardinality() + " covered): "
                        + missing.cardinality() + " covered but not applied " + describe(missing, commits) + ", "
                        + extra.cardinality() + " applied but not covered " + describe(extra, commits));
            }
        }
        assertTrue(violations.isEmpty(), violations.size() + " of " + samples.size()
                + " samples disagree with the checkpoint, first " + SHOWN + ":\n"
                + String.join("\n", violations.subList(0, Math.min(SHOWN, violations.size()))));
    }

    /** The run must have shown checkpoints between the start and the end, and ended complete. */
    private static void assertSamplesTellSomething(List<Sample> samples, Map<Long, LogSequenceNumber> commits) {
        assertTrue(samples.size() >= MIN_SAMPLES, "only " + samples.size() + " samples; want " + MIN_SAMPLES);
        long intermediate = intermediateCheckpoints(samples);
        assertTrue(intermediate >= MIN_INTERMEDIATE_CHECKPOINTS, "only " + intermediate
                + " distinct checkpoints between the first and the last transaction; want " + MIN_INTERMEDIATE_CHECKPOINTS);
        Sample last = samples.get(samples.size() - 1);
        assertEquals(commits.size(), last.ids().cardinality(), "txlog rows in the last sample, after catch-up");
    }

    /** Distinct checkpoints of samples that hold some but not all txlog rows. */
    private static long intermediateCheckpoints(List<Sample> samples) {
        int all = samples.get(samples.size() - 1).ids().cardinality();
        return samples.stream()
                .filter(s -> s.ids().cardinality() > 0 && s.ids().cardinality() < all)
                .map(Sample::checkpoint)
                .distinct()
                .count();
    }

    /** A few ids with their commit end LSNs, for a failure message. */
    private static String describe(BitSet ids, Map<Long, LogSequenceNumber> commits) {
        List<String> shown = new ArrayList<>();
        for (int id = ids.nextSetBit(0); id >= 0 && shown.size() < SHOWN; id = ids.nextSetBit(id + 1)) {
            LogSequenceNumber end = commits.get((long) id);
            shown.add(id + "@" + (end == null ? "not in the test slot" : end.asString()));
        }
        return shown.toString();
    }

    /** The root's txlog ids in the order of their transactions' commit end LSNs. */
    private record CommitOrder(long[] ids, long[] ends) {

        static CommitOrder of(Map<Long, LogSequenceNumber> commits) {
            List<Map.Entry<Long, LogSequenceNumber>> entries = new ArrayList<>(commits.entrySet());
            entries.sort((a, b) -> Long.compareUnsigned(a.getValue().asLong(), b.getValue().asLong()));
            return new CommitOrder(entries.stream().mapToLong(Map.Entry::getKey).toArray(),
                    entries.stream().mapToLong(e -> e.getValue().asLong()).toArray());
        }

        /** The ids of the transactions that end at or before {@code checkpoint}. */
        BitSet coveredBy(LogSequenceNumber checkpoint) {
            BitSet covered = new BitSet();
            for (int i = 0; i < ends.length && Long.compareUnsigned(ends[i], checkpoint.asLong()) <= 0; i++) {
                covered.set(Math.toIntExact(ids[i]));
            }
            return covered;
        }
    }
}
