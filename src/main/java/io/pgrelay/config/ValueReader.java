package io.pgrelay.config;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Turns raw key texts into typed values, recording a problem for each one that does not fit
 * instead of stopping. Each getter returns {@code null} when it recorded a problem, so the
 * loader can go on and find the next one.
 *
 * <p>Messages read {@code KEY: 'VALUE' COMPLAINT: HOW TO FIX (WHERE)}; the value is never quoted
 * for a secret, nor when it came from a value file, and URLs in it are masked.
 */
final class ValueReader {
    private static final Pattern SLOT_NAME = Pattern.compile("[a-z0-9_]{1,63}");
    private static final Pattern WHOLE_NUMBER = Pattern.compile("[+-]?\\d+");
    private static final String JDBC_PREFIX = "jdbc:postgresql://";
    private static final int MAX_QUOTED_LENGTH = 100;

    private final RawSettings settings;
    private final Problems problems;
    private final boolean reportMissing;

    /**
     * @param reportMissing false when the config file could not be read: then every required
     *                      key is missing for that one reason, already reported
     */
    ValueReader(RawSettings settings, Problems problems, boolean reportMissing) {
        this.settings = settings;
        this.problems = problems;
        this.reportMissing = reportMissing;
    }

    Optional<RawValue> raw(KeySpec spec) {
        return settings.get(spec);
    }

    /** Records {@code KEY: 'VALUE' COMPLAINT (WHERE)}. */
    void reject(KeySpec spec, RawValue value, String complaint) {
        problems.add(spec.name() + ": " + quote(spec, value) + " " + complaint + value.origin().suffix());
    }

    String text(KeySpec spec) {
        RawValue value = valueOrDefault(spec);
        if (value == null || spec.range() == null) {
            return value == null ? null : value.value();
        }
        int length = value.value().codePointCount(0, value.value().length());
        if (!spec.range().contains(length)) {
            reject(spec, value, "is " + length + " characters long: use "
                    + spec.range().min() + "-" + spec.range().max() + " characters");
            return null;
        }
        return value.value();
    }

    Secret secret(KeySpec spec) {
        RawValue value = valueOrDefault(spec);
        return value == null ? null : Secret.of(value.value());
    }

    /** A whole number; the range check is left to the caller when {@code spec} has no range. */
    Integer integer(KeySpec spec) {
        RawValue value = valueOrDefault(spec);
        if (value == null) {
            return null;
        }
        Long number = wholeNumber(value.value());
        if (number == null) {
            reject(spec, value, "is not a whole number: use " + spec.rangeDescription());
            return null;
        }
        if (spec.range() != null && !spec.range().contains(number)) {
            reject(spec, value, "is out of range: use " + spec.rangeDescription());
            return null;
        }
        return number.intValue();
    }

    /** {@code text} as a number; {@link Long#MAX_VALUE} for digits too many to fit, so they are out of range. */
    static Long wholeNumber(String text) {
        if (!WHOLE_NUMBER.matcher(text).matches()) {
            return null;
        }
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException tooLong) {
            return Long.MAX_VALUE;
        }
    }

    Duration duration(KeySpec spec) {
        RawValue value = valueOrDefault(spec);
        if (value == null) {
            return null;
        }
        Duration duration;
        try {
            duration = Durations.parse(value.value());
        } catch (IllegalArgumentException e) {
            reject(spec, value, "is not a duration: use " + Durations.FORMS);
            return null;
        }
        if (!spec.range().contains(duration.toMillis())) {
            reject(spec, value, "is out of range: use " + spec.rangeDescription());
            return null;
        }
        return duration;
    }

    Boolean bool(KeySpec spec) {
        RawValue value = valueOrDefault(spec);
        if (value == null) {
            return null;
        }
        // Only the two words: "yes", "1" or "on" would each be a guess about what was meant.
        return switch (value.value().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> {
                reject(spec, value, "is not a boolean: use true or false");
                yield null;
            }
        };
    }

    ConflictPolicy conflictPolicy(KeySpec spec) {
        RawValue value = valueOrDefault(spec);
        if (value == null) {
            return null;
        }
        for (ConflictPolicy policy : ConflictPolicy.values()) {
            if (policy.name().equalsIgnoreCase(value.value())) {
                return policy;
            }
        }
        reject(spec, value, "is not a conflict policy: use error, skip or upsert");
        return null;
    }

    String jdbcUrl(KeySpec spec) {
        RawValue value = valueOrDefault(spec);
        if (value == null) {
            return null;
        }
        if (!value.value().startsWith(JDBC_PREFIX) || value.value().length() == JDBC_PREFIX.length()) {
            reject(spec, value, "is not a PostgreSQL JDBC URL: use jdbc:postgresql://HOST[:PORT]/DATABASE");
            return null;
        }
        String badPort = JdbcUrls.badPort(value.value());
        if (badPort != null) {
            reject(spec, value, "has port '" + badPort + "': use a port 1-65535 (jdbc:postgresql://HOST[:PORT]/DATABASE)");
            return null;
        }
        return value.value();
    }

    String slotName(KeySpec spec) {
        RawValue value = valueOrDefault(spec);
        if (value == null) {
            return null;
        }
        if (!SLOT_NAME.matcher(value.value()).matches()) {
            reject(spec, value, "is not a valid slot name: use 1-63 lower-case letters, digits or underscores");
            return null;
        }
        return value.value();
    }

    /** Comma-separated, each name trimmed; an empty name or a repeated one is a problem. */
    List<String> names(KeySpec spec) {
        RawValue value = valueOrDefault(spec);
        if (value == null) {
            return null;
        }
        List<String> names = new ArrayList<>();
        Set<String> repeated = new LinkedHashSet<>();
        boolean emptyName = false;
        for (String part : value.value().split(",", -1)) {
            String name = part.strip();
            if (name.isEmpty()) {
                emptyName = true;
            } else if (names.contains(name)) {
                repeated.add(name);
            } else {
                names.add(name);
            }
        }
        if (emptyName) {
            reject(spec, value, "has an empty name: separate names by single commas, e.g. pub_a,pub_b");
        }
        for (String name : repeated) {
            String shown = value.origin().quotable() ? "'" + name + "'" : "a name";
            problems.add(spec.name() + ": " + shown + " is listed more than once: list each name once"
                    + value.origin().suffix());
        }
        return emptyName || !repeated.isEmpty() ? null : names;
    }

    /** Validated as {@link HostPort} but kept as written; empty when unset. */
    String hostPort(KeySpec spec) {
        RawValue value = valueOrDefault(spec);
        if (value == null || value.value().isEmpty()) {
            return value == null ? null : "";
        }
        try {
            HostPort.parse(value.value());
            return value.value();
        } catch (IllegalArgumentException e) {
            reject(spec, value, "is not a listen address: use " + HostPort.FORMS);
            return null;
        }
    }

    /** Bytes, see {@link Sizes}. */
    Long size(KeySpec spec) {
        RawValue value = valueOrDefault(spec);
        if (value == null) {
            return null;
        }
        long bytes;
        try {
            bytes = Sizes.parse(value.value());
        } catch (IllegalArgumentException e) {
            reject(spec, value, "is not a size: use " + Sizes.FORMS);
            return null;
        }
        if (!spec.range().contains(bytes)) {
            reject(spec, value, "is out of range: use " + spec.rangeDescription());
            return null;
        }
        return bytes;
    }

    /** {@code scram} or {@code trust}, lower-cased. */
    String feedAuth(KeySpec spec) {
        RawValue value = valueOrDefault(spec);
        if (value == null) {
            return null;
        }
        String auth = value.value().toLowerCase(Locale.ROOT);
        if (!auth.equals("scram") && !auth.equals("trust")) {
            reject(spec, value, "is not an authentication method: use scram or trust");
            return null;
        }
        return auth;
    }

    Path path(KeySpec spec) {
        RawValue value = valueOrDefault(spec);
        if (value == null) {
            return null;
        }
        try {
            return Path.of(value.value());
        } catch (InvalidPathException e) {
            reject(spec, value, "is not a valid path: " + e.getReason());
            return null;
        }
    }

    /** The key's text, else its default; {@code null} (after recording why) for a missing required key. */
    private RawValue valueOrDefault(KeySpec spec) {
        Optional<RawValue> value = settings.get(spec);
        if (value.isPresent()) {
            return value.get();
        }
        if (spec.required()) {
            if (reportMissing && !settings.failed(spec)) {
                problems.add(spec.name() + ": missing: set it in the config file or as " + spec.envName());
            }
            return null;
        }
        return new RawValue(spec.defaultValue(), RawValue.Origin.DEFAULT);
    }

    private static String quote(KeySpec spec, RawValue value) {
        if (spec.secret() || !value.origin().quotable()) {
            return "the value";
        }
        String shown = Masking.maskUrl(value.value()).replace("\r", "\\r").replace("\n", "\\n");
        if (shown.length() > MAX_QUOTED_LENGTH) {
            shown = shown.substring(0, MAX_QUOTED_LENGTH) + "...";
        }
        return "'" + shown + "'";
    }
}
