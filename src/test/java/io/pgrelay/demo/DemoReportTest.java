package io.pgrelay.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the demo prints: the live line and the verdict. */
class DemoReportTest {

    @Test
    void liveLineShowsRowsPerSecondAndTheLagOfEveryTier() {
        assertEquals("t=7s  rows/s=1830  lag A=12ms B=25ms",
                ProgressLine.format(7, 1830, List.of(Duration.ofMillis(12), Duration.ofMillis(25))));
        assertEquals("t=1s  rows/s=0  lag A=- B=-", ProgressLine.format(1, 0, Arrays.asList(null, null)));
    }

    @Test
    void equalTablesAreReportedWithTheirCountsAtEveryTier() {
        List<String> lines = Verification.report(new Verification.Outcome(digests(), null, 0, null), 2);

        assertEquals("verified: 3 tables equal at 2 tiers", lines.get(0));
        assertEquals("  accounts       1000 rows  md5 0123456789ab  root = A = B", lines.get(1));
        assertEquals(4, lines.size());
        assertEquals("verified: 3 tables equal at 1 tier",
                Verification.report(new Verification.Outcome(digests(), null, 0, null), 1).get(0));
    }

    @Test
    void aDifferingTableIsNamedWithItsTier() {
        Verification.Digest differing = new Verification.Digest(41, "ffff");
        List<String> lines = Verification.report(new Verification.Outcome(digests(), "transfers", 2, differing), 2);

        assertEquals(List.of("verification FAILED: table transfers differs at tier B: root has 42 rows (md5 "
                + "0123456789abcdef0123456789abcdef), B has 41 rows (md5 ffff)"), lines);
    }

    private static Map<String, Verification.Digest> digests() {
        Map<String, Verification.Digest> digests = new LinkedHashMap<>();
        digests.put("accounts", new Verification.Digest(1000, "0123456789abcdef0123456789abcdef"));
        digests.put("transfers", new Verification.Digest(42, "0123456789abcdef0123456789abcdef"));
        digests.put("events", new Verification.Digest(7, "0123456789abcdef0123456789abcdef"));
        return digests;
    }
}
