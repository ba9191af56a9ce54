package io.pgrelay.fuzz;

import java.lang.management.ManagementFactory;
import java.util.HexFormat;

/**
 * Settings shared by the fuzz tests: a seed and an iteration count from system properties, so a
 * failure is replayed with the printed seed and a long run is one flag away
 * ({@code -Dpgrelay.fuzz.iterations=1000000 -Dpgrelay.fuzz.seed=42}).
 */
public final class Fuzz {

    private Fuzz() {}

    /** The seed: {@code pgrelay.fuzz.seed}, else a fixed default so CI runs are reproducible. */
    public static long seed() {
        return Long.getLong("pgrelay.fuzz.seed", 20_260_901L);
    }

    /** {@code pgrelay.fuzz.iterations} when set, else {@code defaultCount}. */
    public static int iterations(int defaultCount) {
        return Integer.getInteger("pgrelay.fuzz.iterations", defaultCount);
    }

    /** Prints the count so the build log records how many inputs ran. */
    public static void report(String what, long inputs, String detail) {
        System.out.printf("fuzz %s: %d inputs executed (seed %d)%s%n", what, inputs, seed(), detail.isEmpty() ? "" : "; " + detail);
    }

    /** The bytes, hex, shortened: enough to turn a failure into a unit test. */
    public static String hex(byte[] input) {
        return HexFormat.of().formatHex(input, 0, Math.min(input.length, 256)) + (input.length > 256 ? "…(" + input.length + " bytes)" : "");
    }

    /** Bytes allocated by the current thread so far (HotSpot), for allocation bounds. */
    public static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }
}
