package io.pgrelay.bench;

/**
 * How a consumer caught up.
 *
 * @param seconds      from start (process start, subscription enabled) to content-equal at the last tier
 * @param tier1Seconds for chains, the same until the first tier was equal; NaN otherwise
 * @param memory       pgrelay's heap figures, or null
 */
record Outcome(double seconds, double tier1Seconds, Memory memory) {

    static Outcome of(double seconds) {
        return new Outcome(seconds, Double.NaN, null);
    }

    /**
     * pgrelay's heap: the largest heap use seen (sampled from /metrics every 250 ms) and the bytes it
     * allocated in total, start-up included.
     *
     * @param allocationComplete false when a final GC could not be forced, so the young generation's
     *                           last allocations are not counted yet
     */
    record Memory(long heapMaxBytes, long allocatedBytes, boolean allocationComplete) {
    }
}
