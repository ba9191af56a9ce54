package io.pgrelay.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The benchmark harness on tiny sizes: every consumer of W1 and both chains of the lag part must
 * come out checked (no FAILED row), so a broken harness shows in {@code mvn verify}, not on the
 * day someone measures. No timing is asserted.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class BenchSmokeIT {

    @Test
    void tinyRunHasNoFailedRow() throws Exception {
        Properties p = new Properties();
        p.setProperty("bench.quick", "true");
        p.setProperty("bench.workloads", "W1,LAG");
        p.setProperty("bench.rows", "2000");
        p.setProperty("bench.rowsPerTxn", "100");
        p.setProperty("bench.lag.seconds", "2");
        p.setProperty("bench.lag.tps", "50");
        p.setProperty("bench.timeout", "90");
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        CatchUpBenchmark.Report report;
        try (PrintStream out = new PrintStream(text, true, StandardCharsets.UTF_8)) {
            report = CatchUpBenchmark.run(BenchOptions.from(p), out);
        }
        String printed = text.toString(StandardCharsets.UTF_8);
        System.out.println(printed);

        assertFalse(report.failed(), "a FAILED row:\n" + printed);
        assertFalse(printed.contains("FAILED"), printed);
        assertEquals(ConsumerKind.values().length, report.catchUp().size(), printed);
        for (ResultRow row : report.catchUp()) {
            // pg_recvlogical may be missing on a machine without PostgreSQL's client package.
            boolean mayBeSkipped = row.consumer().equals(ConsumerKind.RECVLOGICAL.label());
            assertTrue(row.measured() || mayBeSkipped && row.kind() == ResultRow.Kind.SKIPPED, row.toString());
            if (row.measured()) {
                assertTrue(row.outcome().seconds() > 0, row.toString());
            }
        }
        ResultRow pgrelay = report.catchUp().stream().filter(r -> r.consumer().equals(ConsumerKind.PGRELAY.label()))
                .findFirst().orElseThrow();
        assertTrue(pgrelay.outcome().memory().heapMaxBytes() > 0, "pgrelay's heap was sampled: " + pgrelay);
        assertEquals(4, report.lag().size(), "two tiers of two systems: " + report.lag());
        for (LagBenchmark.LagRow row : report.lag()) {
            assertTrue(row.heartbeats() > 0 && row.p50() >= 0 && row.p99() >= row.p50(), row.toString());
        }
        assertTrue(printed.contains("| W1 | pgrelay"), printed);
    }
}
