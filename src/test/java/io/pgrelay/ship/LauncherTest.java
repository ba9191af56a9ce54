package io.pgrelay.ship;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.regex.Pattern;
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
        Files.writeString(java, "#!/bin/sh\nprintf '%s\\n' \"$@\"\nprintf 'PGRELAY_JAR=%s\\n' \"${PGRELAY_JAR-unset}\"\n"
                + "[ -z \"${PGRELAY_CDS-}${PGRELAY_CDS_DIR-}\" ] || echo 'launcher variables leaked'\n");
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

    @Test
    void runWritesAClassDataArchiveOnceThenMapsIt() throws Exception {
        Path archives = dir.resolve("cds");
        Map<String, String> env = Map.of("PGRELAY_CDS", "on", "PGRELAY_CDS_DIR", archives.toString());
        List<String> first = launch(env, "run", "-c", CONFIG);
        String write = first.get(0);
        assertTrue(write.matches("-XX:ArchiveClassesAtExit=" + Pattern.quote(archives.toString())
                + "/pgrelay-[0-9-]+\\.jsa\\.[0-9]+"), write);
        assertEquals("-Xlog:cds*=off", first.get(1), "the JVM's list of classes it cannot archive stays off stdout");
        assertEquals(relay("run", "-c", CONFIG), first.subList(2, first.size()));

        // That java exited (its process id is gone): the next start takes its archive over.
        String archive = write.substring(write.indexOf('=') + 1, write.lastIndexOf('.'));
        Files.writeString(Path.of(archive + ".999999999"), "archive");
        List<String> second = launch(env, "run", "-c", CONFIG);
        assertEquals("-XX:SharedArchiveFile=" + archive, second.get(0));
        assertEquals(relay("run", "-c", CONFIG), second.subList(1, second.size()));
        assertEquals(second, launch(env, "run", "-c", CONFIG), "mapped again, never written again");
    }

    @Test
    void anArchiveStillBeingWrittenIsLeftAlone() throws Exception {
        Path archives = dir.resolve("cds");
        Map<String, String> env = Map.of("PGRELAY_CDS", "on", "PGRELAY_CDS_DIR", archives.toString());
        String write = launch(env, "run").get(0);
        String archive = write.substring(write.indexOf('=') + 1, write.lastIndexOf('.'));
        // A writer that still runs: this test's own JVM.
        Files.writeString(Path.of(archive + "." + ProcessHandle.current().pid()), "half an archive");
        assertTrue(launch(env, "run").get(0).startsWith("-XX:ArchiveClassesAtExit="));
        assertTrue(Files.exists(Path.of(archive + "." + ProcessHandle.current().pid())));
    }

    @Test
    void onlyRunUsesAnArchiveAndOffTurnsItOff() throws Exception {
        Map<String, String> on = Map.of("PGRELAY_CDS", "on", "PGRELAY_CDS_DIR", dir.resolve("cds").toString());
        assertEquals(relay("check", "-c", CONFIG), launch(on, "check", "-c", CONFIG));
        assertEquals(relay("--version"), launch(on, "--version"));
        assertEquals(relay("run"), launch(Map.of("PGRELAY_CDS", "off", "PGRELAY_CDS_DIR", dir.resolve("cds").toString()), "run"));
    }

    @Test
    void anUnwritableArchiveDirectoryMeansNoArchive() throws Exception {
        Path blocked = Files.writeString(dir.resolve("not-a-directory"), "");
        assertEquals(relay("run"), launch(Map.of("PGRELAY_CDS", "on", "PGRELAY_CDS_DIR", blocked.resolve("cds").toString()), "run"));
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
        Map<String, String> extra = new HashMap<>();
        extra.put("PGRELAY_CDS", "off"); // the archive has tests of its own
        extra.putAll(extraEnv);
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
