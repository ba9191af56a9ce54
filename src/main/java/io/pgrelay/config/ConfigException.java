package io.pgrelay.config;

import java.util.List;

/**
 * The configuration cannot run a relay. Carries every problem found, not just the first,
 * so an operator fixes the file in one round instead of one restart per mistake.
 * Messages never contain a secret's value.
 */
public final class ConfigException extends RuntimeException {
    private final List<String> problems;
    private final List<String> warnings;

    public ConfigException(List<String> problems, List<String> warnings) {
        super(summary(problems));
        this.problems = List.copyOf(problems);
        this.warnings = List.copyOf(warnings);
    }

    public ConfigException(List<String> problems) {
        this(problems, List.of());
    }

    /** One line per problem, each naming its key and how to fix it. */
    public List<String> problems() {
        return problems;
    }

    /** Soft findings (e.g. an unknown PGRELAY_* variable) seen while loading; they did not cause the failure. */
    public List<String> warnings() {
        return warnings;
    }

    private static String summary(List<String> problems) {
        StringBuilder text = new StringBuilder()
                .append(problems.size())
                .append(problems.size() == 1 ? " configuration problem:" : " configuration problems:");
        for (String problem : problems) {
            text.append("\n  - ").append(problem);
        }
        return text.toString();
    }
}
