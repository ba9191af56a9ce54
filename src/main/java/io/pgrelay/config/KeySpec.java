package io.pgrelay.config;

import java.util.Locale;
import java.util.Objects;

/**
 * One row of the configuration reference: what a key is called, what it holds, its default
 * and what it means. {@link ConfigKeys} holds the table; the loader, the README and the
 * "did you mean" hints all read it, so they cannot drift apart.
 *
 * @param defaultValue the value used when the key is not set, as it would be written in the
 *                     file; empty when there is none (or the key is {@link #required()})
 * @param range        inclusive bounds: the value of an {@link KeyType#INT}, the milliseconds of
 *                     a {@link KeyType#DURATION}, the length of a {@link KeyType#STRING};
 *                     {@code null} when unbounded
 */
public record KeySpec(
        String name, KeyType type, String defaultValue, String meaning, boolean required, Range range) {

    /** Suffix of the key whose value is a path to a file holding this key's value. */
    public static final String FILE_SUFFIX = ".file";

    /** Inclusive bounds. */
    public record Range(long min, long max) {
        public boolean contains(long value) {
            return value >= min && value <= max;
        }
    }

    public KeySpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(defaultValue, "defaultValue");
        Objects.requireNonNull(meaning, "meaning");
    }

    static KeySpec required(String name, KeyType type, String meaning) {
        return new KeySpec(name, type, "", meaning, true, null);
    }

    static KeySpec optional(String name, KeyType type, String defaultValue, String meaning) {
        return new KeySpec(name, type, defaultValue, meaning, false, null);
    }

    static KeySpec integer(String name, int defaultValue, int min, int max, String meaning) {
        return new KeySpec(name, KeyType.INT, Integer.toString(defaultValue), meaning, false, new Range(min, max));
    }

    static KeySpec duration(String name, String defaultValue, String min, String max, String meaning) {
        Range range = new Range(Durations.parse(min).toMillis(), Durations.parse(max).toMillis());
        return new KeySpec(name, KeyType.DURATION, defaultValue, meaning, false, range);
    }

    static KeySpec text(String name, String defaultValue, int minLength, int maxLength, String meaning) {
        return new KeySpec(name, KeyType.STRING, defaultValue, meaning, false, new Range(minLength, maxLength));
    }

    public boolean secret() {
        return type == KeyType.SECRET;
    }

    /** {@code downstream.password} → {@code downstream.password.file}. */
    public String fileKey() {
        return name + FILE_SUFFIX;
    }

    /** {@code apply.batch-size} → {@code PGRELAY_APPLY_BATCH_SIZE}. */
    public String envName() {
        return envNameOf(name);
    }

    /** {@code downstream.password} → {@code PGRELAY_DOWNSTREAM_PASSWORD_FILE}. */
    public String fileEnvName() {
        return envNameOf(fileKey());
    }

    /** The environment variable that overrides {@code key}: upper-cased, {@code .} and {@code -} → {@code _}. */
    public static String envNameOf(String key) {
        return ConfigKeys.ENV_PREFIX + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    /** The accepted values as the reference and the messages show them, e.g. {@code 1..64} or {@code 100ms..1h}. */
    public String rangeDescription() {
        if (range == null) {
            return "";
        }
        if (type == KeyType.DURATION) {
            return Durations.format(range.min()) + ".." + Durations.format(range.max());
        }
        if (type == KeyType.SIZE) {
            return Sizes.format(range.min()) + ".." + Sizes.format(range.max());
        }
        return range.min() + ".." + range.max();
    }

    /** E.g. {@code integer 1..64}, {@code duration 100ms..1h}, {@code string, 1..63 characters}. */
    public String typeDescription() {
        if (range == null) {
            return type.label();
        }
        if (type == KeyType.STRING) {
            return type.label() + ", " + rangeDescription() + " characters";
        }
        return type.label() + " " + rangeDescription();
    }
}
