package io.pgrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgrelay.embedded.TreeDeletion;
import io.pgrelay.process.RelayProcess;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code java -jar pgrelay.jar demo} as a user runs it: embedded clusters, a chain of in-process
 * relays, a live line per second, a verification, and a clean end — also on SIGTERM — that
 * leaves no server and no file behind.
 */
class DemoIT {

    /** Start-up (unpacking the binaries, three initdb) plus 5 s of workload plus catch-up, on a busy CI machine. */
    private static final Duration DEMO_BOUND = Duration.ofSeconds(150);
    private static final Pattern LIVE_LINE = Pattern.compile("(?m)^t=\\d+s  rows/s=\\d+  lag A=(\\d+ms|-) B=(\\d+ms|-)$");
    private static final Pattern FILES = Pattern.compile("files in (/\\S+)");
    private static final Pattern PSQL = Pattern.compile("(?m)^\\s+(root|A)\\s+psql \"postgresql://(\\w+):([^@]+)@([\\d.]+):(\\d+)/(\\w+)\"$");
    private static final Pattern STOP = Pattern.compile("(?m)^\\s+((?:runuser -u \\w+ -- )?\\S+/pg_ctl -D \\S+ -m fast stop)$");

    @Test
    @Timeout(value = 200, unit = TimeUnit.SECONDS)
    void twoTiersRunAndVerifyEqual() throws Exception {
        long started = System.nanoTime();
        try (Demo demo = Demo.start("--tiers", "2", "--seconds", "5")) {
            int code = demo.awaitExit(DEMO_BOUND);
            Duration took = Duration.ofNanos(System.nanoTime() - started);

            String output = demo.output();
            assertEquals(0, code, "demo failed:\n" + output);
            assertTrue(output.contains("verified: 3 tables equal at 2 tiers"), output);
            assertTrue(LIVE_LINE.matcher(output).results().count() >= 3, "expected a live line per second:\n" + output);
            assertTrue(took.compareTo(DEMO_BOUND) < 0, "took " + took);
            Path dir = demo.filesDir();
            assertFalse(Files.exists(dir), dir + " must be removed at the end");
            assertNoProcessMentions(dir);
        }
    }

    @Test
    @Timeout(value = 200, unit = TimeUnit.SECONDS)
    void sigtermStopsTheWorkloadTheRelaysAndTheClustersAndExitsZero() throws Exception {
        try (Demo demo = Demo.start("--tiers", "2", "--seconds", "600")) {
            demo.awaitOutput("t=2s", DEMO_BOUND);
            Path dir = demo.filesDir();

            // SIGTERM rather than SIGINT: a JVM started from a non-interactive shell in the
            // background may inherit SIGINT as ignored; the demo handles both the same way.
            demo.signal("TERM");
            int code = demo.awaitExit(Duration.ofSeconds(60));

            String output = demo.output();
            assertEquals(0, code, output);
            assertTrue(output.contains("SIGTERM: stopping the workload, the relays and the clusters"), output);
            assertFalse(output.contains("verified:"), output);
            assertFalse(Files.exists(dir), dir + " must be removed after SIGTERM:\n" + output);
            assertNoProcessMentions(dir);
        }
    }

    @Test
    @Timeout(value = 200, unit = TimeUnit.SECONDS)
    void keepLeavesTheClustersRunningAndSaysHowToReachAndStopThem() throws Exception {
        Path dir;
        List<String> stopCommands;
        int code;
        String output;
        try (Demo demo = Demo.start("--tiers", "1", "--seconds", "2", "--keep")) {
            code = demo.awaitExit(DEMO_BOUND);
            output = demo.output();
            dir = demo.filesDir();
            stopCommands = STOP.matcher(output).results().map(m -> m.group(1)).toList();
        }
        try {
            assertEquals(0, code, output);
            assertTrue(output.contains("verified: 3 tables equal at 1 tier"), output);
            Matcher psql = PSQL.matcher(output);
            int reached = 0;
            while (psql.find()) {
                String url = "jdbc:postgresql://" + psql.group(4) + ":" + psql.group(5) + "/" + psql.group(6);
                try (Connection c = DriverManager.getConnection(url, psql.group(2), psql.group(3));
                     Statement s = c.createStatement();
                     ResultSet rs = s.executeQuery("SELECT count(*) FROM accounts")) {
                    assertTrue(rs.next());
                    assertEquals(1000, rs.getInt(1), psql.group(1));
                    reached++;
                }
            }
            assertEquals(2, reached, "a psql line for the root and for A:\n" + output);
            assertEquals(2, stopCommands.size(), "a stop command per cluster:\n" + output);
        } finally {
            for (String stop : stopCommands) {
                run(List.of("sh", "-c", stop));
            }
            TreeDeletion.deleteIfExists(dir);
        }
        assertNoProcessMentions(dir);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void helpDocumentsTheOptionsAndBadValuesAreUsageErrors() throws Exception {
        try (Demo help = Demo.start("--help")) {
            assertEquals(0, help.awaitExit(Duration.ofSeconds(30)));
            for (String option : List.of("--tiers", "--seconds", "--keep")) {
                assertTrue(help.output().contains(option), help.output());
            }
        }
        try (Demo bad = Demo.start("--tiers", "0")) {
            assertEquals(2, bad.awaitExit(Duration.ofSeconds(30)), bad.output());
            assertTrue(bad.output().contains("--tiers must be 1..8"), bad.output());
        }
    }

    /** No server (or guard) of the demo may outlive it; a process already ending gets a moment. */
    private static void assertNoProcessMentions(Path dir) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        List<String> left = processesMentioning(dir);
        while (!left.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(100);
            left = processesMentioning(dir);
        }
        assertTrue(left.isEmpty(), "processes left behind: " + left);
    }

    private static List<String> processesMentioning(Path dir) {
        return ProcessHandle.allProcesses()
                .map(p -> p.info().commandLine().orElse(""))
                .filter(line -> line.contains(dir.toString()))
                .toList();
    }

    private static void run(List<String> command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        process.waitFor(90, TimeUnit.SECONDS);
    }

    /** One {@code java -jar pgrelay.jar demo …} process, its stdout and stderr in one file. */
    private static final class Demo implements AutoCloseable {
        private final Process process;
        private final Path log;

        private Demo(Process process, Path log) {
            this.process = process;
            this.log = log;
        }

        static Demo start(String... args) throws IOException {
            Path log = Files.createTempFile("pgrelay-demo-it-", ".log");
            List<String> command = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
                    "-jar", RelayProcess.jar().toString(), "demo"));
            command.addAll(List.of(args));
            ProcessBuilder builder = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            builder.environment().keySet().removeIf(variable -> variable.startsWith("PGRELAY_"));
            return new Demo(builder.start(), log);
        }

        int awaitExit(Duration timeout) throws Exception {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
                fail("demo did not end within " + timeout.toSeconds() + " s:\n" + output());
            }
            return process.exitValue();
        }

        void awaitOutput(String text, Duration timeout) throws Exception {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!output().contains(text)) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
                    fail("no '" + text + "' in the demo's output:\n" + output());
                }
                Thread.sleep(100);
            }
        }

        void signal(String name) throws Exception {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start();
            assertEquals(0, kill.waitFor());
        }

        /** The demo's directory, as its output names it. */
        Path filesDir() throws IOException {
            Matcher matcher = FILES.matcher(output());
            assertTrue(matcher.find(), "no 'files in DIR' in the output:\n" + output());
            return Path.of(matcher.group(1));
        }

        String output() throws IOException {
            return Files.readString(log, StandardCharsets.UTF_8);
        }

        /** Ends the process if a failed test left it running (its guards then stop its servers); removes the log. */
        @Override
        public void close() throws Exception {
            if (process.isAlive()) {
                process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
            Files.deleteIfExists(log);
        }
    }
}
