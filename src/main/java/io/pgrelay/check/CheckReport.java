package io.pgrelay.check;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The outcome of a preflight: every check in the order it ran, rendered as an aligned table
 * with one row per check and, under each row that needs it, the fix.
 */
public record CheckReport(List<Check> checks) {

    private static final String FIX_INDENT = "        fix: ";

    public CheckReport {
        checks = List.copyOf(checks);
    }

    /** True when no check failed: {@code check} exits 0 and {@code run} may start. */
    public boolean passed() {
        return checks.stream().noneMatch(Check::failed);
    }

    /** The FAILs that stop {@code run}: all of them except an end that is down or busy right now. */
    public List<Check> blockingRun() {
        return checks.stream().filter(check -> check.failed() && !check.retriable()).toList();
    }

    public List<Check> withStatus(Check.Status status) {
        return checks.stream().filter(check -> check.status() == status).toList();
    }

    /** The table, then a summary line. */
    public String render() {
        int width = Math.max("check".length(), checks.stream().mapToInt(check -> check.name().length()).max().orElse(0));
        StringBuilder out = new StringBuilder();
        out.append(row("status", "check", "detail", width));
        for (Check check : checks) {
            out.append(row(check.status().name(), check.name(), check.detail(), width));
            if (check.fix() != null && check.status() != Check.Status.OK) {
                out.append(FIX_INDENT).append(check.fix()).append('\n');
            }
        }
        out.append(summary()).append('\n');
        return out.toString();
    }

    private static String row(String status, String name, String detail, int width) {
        return String.format("%-6s  %-" + width + "s  %s%n", status, name, detail).stripTrailing() + "\n";
    }

    /** E.g. {@code 12 OK, 1 WARN, 2 FAIL: fix the FAIL rows before pgrelay run}. */
    public String summary() {
        Map<Check.Status, Integer> counts = new EnumMap<>(Check.Status.class);
        checks.forEach(check -> counts.merge(check.status(), 1, Integer::sum));
        String tally = counts.entrySet().stream().map(e -> e.getValue() + " " + e.getKey())
                .collect(Collectors.joining(", "));
        String verdict = passed() ? ": ready to run"
                : blockingRun().isEmpty() ? ": an end is down or busy now; pgrelay run waits and retries"
                : ": fix the FAIL rows; pgrelay run refuses to start until then";
        return (tally.isEmpty() ? "no checks" : tally) + verdict;
    }
}
