package io.pgrelay.demo;

/** Names in the chain: the root, then tiers A, B, C… (tier 1 reads the root, tier n reads tier n-1's feed). */
final class Tiers {

    static final int MAX = 8;

    private Tiers() {
    }

    /** "root" for 0, "A" for 1, "B" for 2, … */
    static String label(int tier) {
        return tier == 0 ? "root" : String.valueOf((char) ('A' + tier - 1));
    }

    /** The relay of tier {@code tier} (1-based): its relay.name, and the slot it reads on its upstream. */
    static String relayName(int tier) {
        return "demo_" + label(tier).toLowerCase(java.util.Locale.ROOT);
    }
}
