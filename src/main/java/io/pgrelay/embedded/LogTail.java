package io.pgrelay.embedded;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The last lines of a log, for exception messages. */
public final class LogTail {

    private LogTail() {
    }

    public static String of(Path log, int lines) {
        if (!Files.isRegularFile(log)) {
            return "(no log at " + log + ")";
        }
        try {
            // Lenient decoding: a log cut mid-character must still be shown.
            return of(new String(Files.readAllBytes(log), StandardCharsets.UTF_8), lines);
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
    }

    public static String of(String text, int lines) {
        List<String> all = text.lines().toList();
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    }
}
