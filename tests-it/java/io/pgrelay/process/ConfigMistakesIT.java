package io.pgrelay.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.cli.ConfigMistakes;
import io.pgrelay.cli.ConfigMistakes.Mistake;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Some rows of docs/RELIABILITY.md's configuration-mistake table as the real
 * {@code java -jar pgrelay.jar run -c FILE}: same line on stderr, exit code 2, nothing started.
 * The rows with environment overrides can only be shown by a process.
 */
@Timeout(180)
class ConfigMistakesIT {

    @Test
    void theRealProcessPrintsWhatTheTableSays() throws Exception {
        Path dir = RelayProcess.jar().getParent().resolve("relay-processes").resolve("ConfigMistakesIT-" + System.currentTimeMillis());
        Files.createDirectories(dir);
        String doc = Files.readString(Path.of("docs/RELIABILITY.md"));
        List<Mistake> cases = new ArrayList<>();
        for (Mistake mistake : ConfigMistakes.all()) {
            if (List.of("unknown key (typo)", "URL with a bad port", "unreadable password file",
                    "feed on a non-loopback address without password").contains(mistake.mistake())) {
                cases.add(mistake);
            }
        }
        assertEquals(4, cases.size(), "the chosen rows exist");
        cases.addAll(ConfigMistakes.environment());
        for (Mistake mistake : cases) {
            Path file = dir.resolve(mistake.fileName());
            StringBuilder text = new StringBuilder();
            mistake.properties().forEach((key, value) -> text.append(key).append(" = ").append(value).append('\n'));
            Files.writeString(file, text, StandardCharsets.UTF_8);
            RelayProcess.Result result = RelayProcess.runCommand(dir, Duration.ofSeconds(60), mistake.env(), "run", "-c", file.toString());
            assertEquals(2, result.exitCode(), mistake.mistake() + ": " + result);
            List<String> errors = result.stderrLines().stream().filter(l -> l.startsWith("pgrelay: ")).toList();
            assertEquals(1, errors.size(), mistake.mistake() + ": one error line on stderr: " + result);
            assertFalse(result.output().contains("Exception"), result.toString());
            String row = doc.lines().filter(l -> l.startsWith("| " + mistake.mistake() + " |")).findFirst().orElse("");
            for (String line : result.stderrLines()) {
                // A log line (a WARN about an unknown variable) is in the table as "WARN message".
                String expected = line.startsWith("pgrelay: ") ? line : "WARN " + line.substring(line.indexOf(" - ") + 3);
                expected = expected.replace(dir.toString(), "…").replace("|", "\\|");
                assertTrue(row.contains(expected), mistake.mistake() + ": the process printed\n  " + expected
                        + "\nthe table says\n  " + row);
            }
        }
        System.out.printf("config mistakes: %d rows confirmed by the real process (exit 2, the table's line)%n", cases.size());
    }
}
