package io.pgrelay.bench;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The run's result as Markdown tables: catch-up (seconds, rows/s, txns/s, throughput relative to
 * native defaults and to in-backend decode, pgrelay's heap) and steady-state lag. A row that
 * failed says FAILED and why, never a number.
 */
final class ResultTable {

    private static final double MB = 1024.0 * 1024.0;

    private ResultTable() {
    }

    static void printCatchUp(List<ResultRow> rows, PrintStream out) {
        out.println("| workload | consumer | seconds | rows/s | txns/s | x native defaults | x in-backend decode"
                + " | pgrelay heap max MB | pgrelay alloc B/row |");
        out.println("|---|---|---:|---:|---:|---:|---:|---:|---:|");
        for (ResultRow row : rows) {
            if (!row.measured()) {
                out.printf("| %s | %s | %s: %s | | | | | | |%n", row.part(), row.consumer(), row.kind(),
                        oneLine(row.reason()));
                continue;
            }
            Outcome o = row.outcome();
            String seconds = String.format(Locale.ROOT, "%.2f", o.seconds());
            if (!Double.isNaN(o.tier1Seconds())) {
                seconds += String.format(Locale.ROOT, " (tier 1: %.2f)", o.tier1Seconds());
            }
            out.printf(Locale.ROOT, "| %s | %s | %s | %,.0f | %s | %s | %s | %s | %s |%n", row.part(), row.consumer(),
                    seconds, row.rows() / o.seconds(), rate(row.transactions() / o.seconds()),
                    ratio(rows, row, ResultRow.Baseline.NATIVE_DEFAULTS),
                    ratio(rows, row, ResultRow.Baseline.IN_BACKEND_DECODE),
                    o.memory() == null ? "" : String.format(Locale.ROOT, "%.0f", o.memory().heapMaxBytes() / MB),
                    allocation(o.memory(), row.rows()));
        }
    }

    /** Small rates (W3 is one transaction) with two decimals, others whole. */
    private static String rate(double perSecond) {
        return String.format(Locale.ROOT, perSecond < 10 ? "%.2f" : "%,.0f", perSecond);
    }

    /** This row's throughput divided by the baseline's in the same part, e.g. "0.45". */
    private static String ratio(List<ResultRow> rows, ResultRow row, ResultRow.Baseline baseline) {
        Optional<ResultRow> base = rows.stream()
                .filter(r -> r.part().equals(row.part()) && r.baseline() == baseline && r.measured()).findFirst();
        return base.map(b -> String.format(Locale.ROOT, "%.2f", b.outcome().seconds() / row.outcome().seconds()))
                .orElse("");
    }

    private static String allocation(Outcome.Memory memory, long rows) {
        if (memory == null || memory.allocatedBytes() < 0) {
            return "";
        }
        return String.format(Locale.ROOT, "%s%,.0f", memory.allocationComplete() ? "" : ">=",
                (double) memory.allocatedBytes() / rows);
    }

    static void printLag(List<LagBenchmark.LagRow> rows, PrintStream out) {
        out.println("| steady state | tier | p50 ms | p99 ms | max ms | heartbeats | root tps (target) |");
        out.println("|---|---|---:|---:|---:|---:|---:|");
        for (LagBenchmark.LagRow row : rows) {
            if (row.reason() != null) {
                out.printf("| %s | | FAILED: %s | | | | |%n", row.system(), oneLine(row.reason()));
                continue;
            }
            out.printf(Locale.ROOT, "| %s | %s | %.1f | %.1f | %.1f | %d | %.0f (%d) |%n", row.system(), row.tier(),
                    row.p50(), row.p99(), row.max(), row.heartbeats(), row.achievedTps(), row.targetTps());
        }
    }

    private static String oneLine(String text) {
        if (text == null) {
            return "";
        }
        String line = text.strip().lines().findFirst().orElse("").replace("|", "/");
        return line.length() > 300 ? line.substring(0, 300) + "…" : line;
    }
}
