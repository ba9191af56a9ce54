package io.pgrelay.check;

import java.util.List;

/** Keeps a report readable with thousands of tables: at most {@value #MAX} problem rows per check. */
final class ProblemRows {

    static final int MAX = 20;

    private ProblemRows() {}

    /** Adds the first {@value #MAX} of {@code problems} to {@code report}, then one row counting the rest. */
    static void add(List<Check> report, List<Check> problems) {
        report.addAll(problems.subList(0, Math.min(MAX, problems.size())));
        if (problems.size() > MAX) {
            List<Check> rest = problems.subList(MAX, problems.size());
            // The worst of the rest decides the row's status, so a hidden FAIL still fails the report.
            Check worst = rest.stream().filter(Check::failed).findFirst().orElse(rest.get(0));
            report.add(new Check(worst.name(), worst.status(), "… and " + rest.size()
                    + " more like the rows above", null, worst.retriable()));
        }
    }
}
