package io.pgrelay.ship;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The instructions of a Dockerfile: continuation lines joined, comments and directives dropped. */
record DockerfileInstructions(List<Instruction> all) {

    static final Path DOCKERFILE = Path.of("Dockerfile");

    /** One instruction: its keyword upper-cased, the rest of its (joined) line as written. */
    record Instruction(String keyword, String arguments) {
    }

    static DockerfileInstructions read(Path file) throws IOException {
        List<Instruction> result = new ArrayList<>();
        StringBuilder pending = new StringBuilder();
        for (String raw : Files.readAllLines(file)) {
            String line = raw.strip();
            if (pending.isEmpty() && (line.isEmpty() || line.startsWith("#"))) {
                continue;
            }
            if (!pending.isEmpty() && line.startsWith("#")) {
                continue; // a comment inside a continued instruction
            }
            if (line.endsWith("\\")) {
                pending.append(line, 0, line.length() - 1).append(' ');
                continue;
            }
            pending.append(line);
            String joined = pending.toString().strip();
            pending.setLength(0);
            int space = joined.indexOf(' ');
            result.add(space < 0
                    ? new Instruction(joined.toUpperCase(Locale.ROOT), "")
                    : new Instruction(joined.substring(0, space).toUpperCase(Locale.ROOT), joined.substring(space + 1).strip()));
        }
        return new DockerfileInstructions(List.copyOf(result));
    }

    List<Instruction> of(String keyword) {
        return all.stream().filter(i -> i.keyword.equals(keyword)).toList();
    }

    /** Instructions after the last {@code FROM}: the image that ships. */
    List<Instruction> finalStage() {
        int last = 0;
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).keyword.equals("FROM")) {
                last = i;
            }
        }
        return all.subList(last, all.size());
    }

    /** The {@code ENV} variables of the final stage, in both forms ({@code K=V ...} and {@code K V}). */
    Map<String, String> finalEnv() {
        Map<String, String> env = new LinkedHashMap<>();
        for (Instruction instruction : finalStage()) {
            if (instruction.keyword.equals("ENV")) {
                env.putAll(envPairs(instruction.arguments));
            }
        }
        return env;
    }

    static Map<String, String> envPairs(String arguments) {
        Map<String, String> pairs = new LinkedHashMap<>();
        String first = arguments.split("\\s+", 2)[0];
        if (!first.contains("=")) {
            String[] legacy = arguments.split("\\s+", 2);
            pairs.put(legacy[0], legacy.length > 1 ? legacy[1] : "");
            return pairs;
        }
        int i = 0;
        while (i < arguments.length()) {
            while (i < arguments.length() && arguments.charAt(i) == ' ') {
                i++;
            }
            int equals = arguments.indexOf('=', i);
            if (equals < 0) {
                break;
            }
            String key = arguments.substring(i, equals);
            StringBuilder value = new StringBuilder();
            int j = equals + 1;
            char quote = 0;
            for (; j < arguments.length(); j++) {
                char c = arguments.charAt(j);
                if (quote != 0) {
                    if (c == quote) {
                        quote = 0;
                    } else {
                        value.append(c);
                    }
                } else if (c == '"' || c == '\'') {
                    quote = c;
                } else if (c == ' ') {
                    break;
                } else {
                    value.append(c);
                }
            }
            pairs.put(key, value.toString());
            i = j;
        }
        return pairs;
    }
}
