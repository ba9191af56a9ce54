package io.pgrelay.ship;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A systemd unit file as sections of {@code Key=value} lines, in order; a key may repeat
 * ({@code Environment=}, {@code SystemCallFilter=}). Comments and blank lines are dropped;
 * the units we ship use no line continuations, and one is refused rather than misread.
 */
record SystemdUnit(Path file, Map<String, List<Directive>> sections) {

    static final Path DIR = Path.of("systemd");

    record Directive(String key, String value) {
    }

    static SystemdUnit read(String name) throws IOException {
        Path file = DIR.resolve(name);
        Map<String, List<Directive>> sections = new LinkedHashMap<>();
        List<Directive> current = null;
        int number = 0;
        for (String raw : Files.readAllLines(file)) {
            number++;
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
                continue;
            }
            if (line.endsWith("\\")) {
                throw new IllegalArgumentException(file + ":" + number + ": line continuations are not read here");
            }
            if (line.startsWith("[") && line.endsWith("]")) {
                current = sections.computeIfAbsent(line.substring(1, line.length() - 1), s -> new ArrayList<>());
                continue;
            }
            int equals = line.indexOf('=');
            if (current == null || equals < 0) {
                throw new IllegalArgumentException(file + ":" + number + ": not Key=value in a section: " + line);
            }
            current.add(new Directive(line.substring(0, equals).strip(), line.substring(equals + 1).strip()));
        }
        return new SystemdUnit(file, sections);
    }

    List<Directive> section(String name) {
        return sections.getOrDefault(name, List.of());
    }

    /** Every value of {@code key} in {@code [Service]}, in order. */
    List<String> service(String key) {
        return section("Service").stream().filter(d -> d.key.equals(key)).map(Directive::value).toList();
    }

    /** The one value of {@code key} in {@code [Service]}; null when absent. */
    String serviceValue(String key) {
        List<String> values = service(key);
        if (values.size() > 1) {
            throw new IllegalStateException(file + ": " + key + "= is set " + values.size() + " times");
        }
        return values.isEmpty() ? null : values.get(0);
    }

    /** The variables that {@code Environment=} lines set, quotes removed. */
    Map<String, String> environment() {
        Map<String, String> env = new LinkedHashMap<>();
        Pattern assignment = Pattern.compile("\"([^\"]*)\"|(\\S+)");
        for (String value : service("Environment")) {
            Matcher matcher = assignment.matcher(value);
            while (matcher.find()) {
                String word = matcher.group(1) != null ? matcher.group(1) : matcher.group(2);
                int equals = word.indexOf('=');
                env.put(word.substring(0, equals), word.substring(equals + 1));
            }
        }
        return env;
    }
}
