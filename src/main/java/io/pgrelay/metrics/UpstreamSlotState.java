package io.pgrelay.metrics;

/** What the upstream says about this relay's slot, sampled periodically. */
record UpstreamSlotState(double retainedWalBytes, String walStatus) {
    static final UpstreamSlotState UNKNOWN = new UpstreamSlotState(Double.NaN, "unknown");
}
