package io.pgrelay.config;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The duration syntax of the configuration: {@code 500ms}, {@code 10s}, {@code 2m}, {@code 1h},
 * or a bare whole number meaning seconds. Deliberately small: no fractions, no combinations,
 * so a value reads the same to every operator.
 */
public final class Durations {
    /** The accepted forms, as problem messages quote them. */
    public static final String FORMS = "500ms, 10s, 2m, 1h, or a whole number of seconds";

    private static final Pattern SYNTAX = Pattern.compile("(\\d{1,18})(ms|s|m|h)?");

    private Durations() {
    }

    /** @throws IllegalArgumentException when {@code text} is not one of the {@link #FORMS} */
    public static Duration parse(String text) {
        Matcher m = SYNTAX.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("not a duration: use " + FORMS);
        }
        long amount = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        try {
            Duration duration = switch (unit) {
                case "ms" -> Duration.ofMillis(amount);
                case "s" -> Duration.ofSeconds(amount);
                case "m" -> Duration.ofMinutes(amount);
                default -> Duration.ofHours(amount);
            };
            duration.toMillis(); // callers compare milliseconds: refuse what does not fit them
            return duration;
        } catch (ArithmeticException tooLong) {
            throw new IllegalArgumentException("duration too long", tooLong);
        }
    }

    /** The shortest form {@link #parse} reads back to the same duration, e.g. {@code 1h}, {@code 1500ms}. */
    public static String format(Duration duration) {
        return format(duration.toMillis());
    }

    static String format(long millis) {
        if (millis != 0 && millis % 3_600_000 == 0) {
            return millis / 3_600_000 + "h";
        }
        if (millis != 0 && millis % 60_000 == 0) {
            return millis / 60_000 + "m";
        }
        if (millis % 1000 == 0) {
            return millis / 1000 + "s";
        }
        return millis + "ms";
    }
}
