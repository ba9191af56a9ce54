package io.pgrelay.ship;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/pgrelay} runs with a stand-in {@code java} that prints the arguments it gets: the
 * launcher passes JAVA_OPTS as separate flags, and PGRELAY_CONFIG stands for {@code -c FILE} on
 * run, check and status only when the command line names no file (or URL) itself.
 */
@Tag("unit")
@Timeout(30)
@DisabledOnOs(OS.WINDOWS)
class LauncherTest {

    private static final Path LAUNCHER = Path.of("bin/pgrelay");
    private static final String CONFIG = "/etc/pgrelay/relay.properties";

    @TempDir
    Path dir;
    private Path jar;
    private Path java;

    @BeforeEach
    void standIns() throws IOException {
        jar = Files.createFile(dir.resolve("pgrelay.jar"));
        java = dir.resolve("java");
        Files.writeString(java, "#!/bin/sh\nprintf '%s\\n' \"$@\"\nprintf 'PGRELAY_JAR=%s\\n' \"${PGRELAY_JAR-unset}\"\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwx------"));
    }

    @Test
    void configVariableStandsForMinusCOnTheConfigCommands() throws Exception {
        for (String command : List.of("run", "check", "status")) {
            assertEquals(relay(command, "-c", CONFIG), launch(CONFIG, command));
        }
        assertEquals(relay("run", "-c", CONFIG, "--verbose"), launch(CONFIG, "run", "--verbose"));
    }

    @Test
    void aFileOrUrlOnTheCommandLineWins() throws Exception {
        for (List<String> given : List.of(
                List.of("run", "-c", "/tmp/mine.properties"),
                List.of("run", "-c/tmp/mine.properties"),
                List.of("run", "--config", "/tmp/mine.properties"),
                List.of("run", "--config=/tmp/mine.properties"),
                List.of("status", "--url", "http://127.0.0.1:9187"),
                List.of("status", "--json", "--url=http://127.0.0.1:9187"))) {
            String[] args = given.toArray(String[]::new);
            assertEquals(relay(args), launch(CONFIG, args), String.join(" ", given));
        }
    }

    @Test
    void otherCommandsAndNoVariableAreLeftAlone() throws Exception {
        assertEquals(relay("--version"), launch(CONFIG, "--version"));
        assertEquals(relay("slot", "list", "-c", "/tmp/x"), launch(CONFIG, "slot", "list", "-c", "/tmp/x"));
        assertEquals(relay("demo"), launch(CONFIG, "demo"));
        assertEquals(relay("run"), launch(Map.of(), "run"));
        assertEquals(relay("run"), launch("", "run"));
        assertEquals(relay(), launch(CONFIG));
    }

    @Test
    void javaOptsAreSeparateFlagsBeforeTheJar() throws Exception {
        List<String> expected = new ArrayList<>(List.of("-Xmx1g", "-Dfile.encoding=UTF-8", "-jar", jar.toString(), "run",
                "-c", CONFIG, "PGRELAY_JAR=unset"));
        assertEquals(expected, launch(Map.of("PGRELAY_CONFIG", CONFIG, "JAVA_OPTS", "-Xmx1g -Dfile.encoding=UTF-8"), "run"));
    }

    /** What the stand-in java should print: the jar, the relay's arguments, and no PGRELAY_JAR. */
    private List<String> relay(String... args) {
        List<String> expected = new ArrayList<>(List.of("-jar", jar.toString()));
        expected.addAll(Arrays.asList(args));
        expected.add("PGRELAY_JAR=unset");
        return expected;
    }

    private List<String> launch(String config, String... args) throws Exception {
        return launch(Map.of("PGRELAY_CONFIG", config), args);
    }

    private List<String> launch(Map<String, String> extraEnv, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("sh", LAUNCHER.toString()));
        command.addAll(Arrays.asList(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        Map<String, String> env = builder.environment();
        env.keySet().removeIf(name -> name.startsWith("PGRELAY_") || name.equals("JAVA_OPTS"));
        Map<String, String> extra = new HashMap<>(extraEnv);
        extra.put("JAVA", java.toString());
        extra.put("PGRELAY_JAR", jar.toString());
        env.putAll(extra);
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        process.waitFor(20, TimeUnit.SECONDS);
        assertEquals(0, process.exitValue(), "launcher failed: " + output);
        return output.isEmpty() ? List.of() : List.of(output.split("\n"));
    }
}
