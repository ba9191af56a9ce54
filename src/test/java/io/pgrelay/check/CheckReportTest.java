package io.pgrelay.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class CheckReportTest {

    @Test
    void rendersAlignedRowsWithTheFixUnderEachProblem() {
        CheckReport report = new CheckReport(List.of(
                Check.ok("upstream connection", "PostgreSQL 15.4"),
                Check.fail("upstream wal_level", "replica", "ALTER SYSTEM SET wal_level = logical"),
                Check.warn("replica identity", "t: odd", "do something"),
                Check.skip("downstream tables", "unknown")));

        List<String> lines = report.render().lines().toList();

        assertEquals("status  check                detail", lines.get(0));
        assertEquals("OK      upstream connection  PostgreSQL 15.4", lines.get(1));
        assertEquals("FAIL    upstream wal_level   replica", lines.get(2));
        assertEquals("        fix: ALTER SYSTEM SET wal_level = logical", lines.get(3));
        assertEquals("WARN    replica identity     t: odd", lines.get(4));
        assertEquals("        fix: do something", lines.get(5));
        assertEquals("SKIP    downstream tables    unknown", lines.get(6));
        assertEquals("1 OK, 1 WARN, 1 FAIL, 1 SKIP: fix the FAIL rows; pgrelay run refuses to start until then", lines.get(7));
        assertFalse(report.passed());
    }

    @Test
    void warningsAndSkipsPass() {
        CheckReport report = new CheckReport(List.of(Check.ok("a", "fine"), Check.warn("b", "meh", "x"), Check.skip("c", "n/a")));
        assertTrue(report.passed());
        assertTrue(report.blockingRun().isEmpty());
        assertTrue(report.summary().endsWith(": ready to run"), report.summary());
    }

    @Test
    void anUnreachableEndFailsCheckButDoesNotBlockRun() {
        CheckReport report = new CheckReport(List.of(
                Check.unavailable("upstream connection", "refused", "start it"), Check.ok("downstream connection", "fine")));
        assertFalse(report.passed());
        assertTrue(report.blockingRun().isEmpty());
        assertTrue(report.summary().contains("waits and retries"), report.summary());
    }

    @Test
    void manyProblemsAreCappedButAHiddenFailStillFails() {
        List<Check> problems = new ArrayList<>();
        for (int i = 0; i < ProblemRows.MAX; i++) {
            problems.add(Check.warn("downstream columns", "t" + i + " differs", "fix"));
        }
        problems.add(Check.warn("downstream columns", "u differs", "fix"));
        problems.add(Check.fail("downstream columns", "v is missing", "add it"));
        List<Check> rows = new ArrayList<>();

        ProblemRows.add(rows, problems);

        assertEquals(ProblemRows.MAX + 1, rows.size());
        Check last = rows.get(ProblemRows.MAX);
        assertEquals(Check.Status.FAIL, last.status());
        assertTrue(last.detail().contains("2 more"), last.detail());
        assertFalse(new CheckReport(rows).passed());
    }

    @Test
    void oneLineCarriesNameDetailAndFix() {
        assertEquals("publication p: does not exist; fix: CREATE PUBLICATION p",
                Check.fail("publication p", "does not exist", "CREATE PUBLICATION p").oneLine());
        assertEquals("a: b", Check.ok("a", "b").oneLine());
    }
}
