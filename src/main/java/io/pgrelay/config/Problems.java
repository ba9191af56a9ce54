package io.pgrelay.config;

import java.util.ArrayList;
import java.util.List;

/** Collects what is wrong with a configuration, so that all of it is reported at once. */
final class Problems {
    private final List<String> problems = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();

    /** Something that stops the relay from starting. */
    void add(String problem) {
        problems.add(problem);
    }

    /** Something odd but harmless, e.g. a PGRELAY_* variable that matches no key. */
    void warn(String warning) {
        warnings.add(warning);
    }

    boolean isEmpty() {
        return problems.isEmpty();
    }

    List<String> problems() {
        return List.copyOf(problems);
    }

    List<String> warnings() {
        return List.copyOf(warnings);
    }

    void throwIfAny() {
        if (!problems.isEmpty()) {
            throw new ConfigException(problems, warnings);
        }
    }
}
