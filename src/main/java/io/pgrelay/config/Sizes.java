package io.pgrelay.config;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Byte sizes written as PostgreSQL writes them: {@code 1048576}, {@code 512kB}, {@code 64MB}, {@code 10GB}, {@code 1TB}. */
public final class Sizes {
    public static final String FORMS = "a number of bytes, or with kB, MB, GB or TB (e.g. 10GB)";
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|kB|KB|MB|GB|TB)?");
    private static final String[] UNITS = {"TB", "GB", "MB", "kB"};

    private Sizes() {}

    public static long parse(String text) {
        Matcher m = SIZE.matcher(text.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a size: " + text);
        }
        long number = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT);
        int shift = switch (unit) {
            case "KB" -> 10;
            case "MB" -> 20;
            case "GB" -> 30;
            case "TB" -> 40;
            default -> 0;
        };
        if (Long.numberOfLeadingZeros(number) <= shift) {
            throw new IllegalArgumentException("size too large: " + text);
        }
        return number << shift;
    }

    /** The largest exact unit: 10737418240 → 10GB. */
    public static String format(long bytes) {
        for (int i = 0; i < UNITS.length; i++) {
            int shift = 40 - 10 * i;
            if (bytes != 0 && bytes % (1L << shift) == 0) {
                return (bytes >> shift) + UNITS[i];
            }
        }
        return Long.toString(bytes);
    }
}
