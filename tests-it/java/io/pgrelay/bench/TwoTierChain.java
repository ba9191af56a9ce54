package io.pgrelay.bench;

import io.pgrelay.it.PgCluster;

/**
 * root → tier 1 → tier 2, where tier 2 reads what tier 1 passes on. Used for the catch-up of a
 * backlog (timed until tier 2 equals the root) and for the steady-state lag.
 */
interface TwoTierChain extends CatchUpConsumer {

    /** Starts both tiers reading (the backlog, if any, is already written). */
    void start() throws Exception;

    PgCluster cluster(int tier);

    String database(int tier);

    /** Throws when a part of the chain has failed. */
    void requireHealthy() throws Exception;

    /** pgrelay's heap figures for tier 1, or null. */
    Outcome.Memory finishMemory() throws Exception;

    /** Stops both tiers (cleanly where that means something); cleanup still drops everything. */
    void stop() throws Exception;

    /** Returns the nanoTime at which tier {@code tier} equals {@code expected}. */
    default long awaitTier(int tier, Stage stage, String expected, int marker, long deadline) throws Exception {
        return Content.awaitEqual(cluster(tier), database(tier), stage.tables(), expected, marker, deadline,
                this::requireHealthy);
    }

    /** Starts the chain on a written backlog and times it until tier 2 equals the root. */
    default Outcome catchUp(Stage stage, Backlog backlog) throws Exception {
        long start = System.nanoTime();
        long deadline = start + stage.options().timeout().toNanos();
        start();
        long tier1 = awaitTier(1, stage, backlog.expected(), backlog.marker(), deadline);
        long tier2 = awaitTier(2, stage, backlog.expected(), backlog.marker(), deadline);
        Outcome.Memory memory = finishMemory();
        stop();
        return new Outcome((tier2 - start) / 1e9, (tier1 - start) / 1e9, memory);
    }
}
