package io.pgrelay.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/** Waits for replication to make both sides equal, with a bound, then asserts. */
public final class Eventually {
    private Eventually() {}

    @FunctionalInterface
    public interface Rows {
        List<List<String>> get() throws Exception;
    }

    /** Polls until {@code actual} equals {@code expected}; fails with both when time runs out. */
    public static void assertSameRows(Rows expected, Rows actual, Duration timeout, String what) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<List<String>> want = expected.get();
        List<List<String>> got = actual.get();
        while (!Objects.equals(want, got) && System.nanoTime() < deadline) {
            Thread.sleep(100);
            want = expected.get();
            got = actual.get();
        }
        if (!Objects.equals(want, got)) {
            assertEquals(want, got, what + ": downstream differs from upstream after " + timeout.toSeconds() + " s"
                    + "; relay threads in this JVM:\n" + ThreadDump.relayThreads());
        }
    }

    /** The same query on both sides of the pair must return the same rows. */
    public static void assertReplicated(ReplicationPair pair, String select, Duration timeout) throws Exception {
        assertSameRows(() -> pair.upstreamRows(select), () -> pair.downstreamRows(select), timeout, select);
    }
}
