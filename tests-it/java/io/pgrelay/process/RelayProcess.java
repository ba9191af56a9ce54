package io.pgrelay.process;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The relay as a real operating-system process: {@code java -jar pgrelay.jar run -c FILE}, the
 * way operators run it. The configuration is written to a properties file in the process's own
 * directory; stdout and stderr go to one log file there.
 *
 * <p>{@link #close()} kills the process if it still runs, and a JVM shutdown hook kills any
 * process a test forgot, so no test leaves a relay behind.
 *
 * <p>The child gets the test JVM's environment minus every {@code PGRELAY_*} variable (so a knob
 * meant for the tests never configures the relay), plus the variables a test passes.
 */
public final class RelayProcess implements AutoCloseable {

    /** System property failsafe sets to the runnable jar built by {@code mvn package}. */
    /** Extra JVM options for every relay process (bench/run -Dpgrelay.jvm.options="…"). */
    public static final String JVM_OPTIONS_PROPERTY = "pgrelay.jvm.options";
    /** As in systemd/pgrelay.service and the Dockerfile: the quick JIT only. */
    public static final String SHIPPED_JVM_FLAG = "-XX:TieredStopAtLevel=1";
    public static final String JAR_PROPERTY = "pgrelay.jar";
    private static final Duration KILL_WAIT = Duration.ofSeconds(15);
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly),
                "relay-process-reaper"));
    }

    private final String name;
    private final Process process;
    private final Path dir;
    private final Path logFile;

    private RelayProcess(String name, Process process, Path dir, Path logFile) {
        this.name = name;
        this.process = process;
        this.dir = dir;
        this.logFile = logFile;
    }

    /** The runnable jar under test; fails clearly when the build did not make it. */
    public static Path jar() {
        String path = System.getProperty(JAR_PROPERTY);
        if (path == null || path.isBlank()) {
            fail("system property " + JAR_PROPERTY + " is not set: run these tests with 'mvn verify', which builds"
                    + " target/pgrelay.jar and passes its path");
        }
        Path jar = Path.of(path);
        if (!Files.isRegularFile(jar)) {
            fail(jar + " does not exist: run 'mvn package' (or 'mvn verify') first");
        }
        return jar;
    }

    /**
     * The base command: this JVM's java, small heap, the JIT flag the systemd units and the image
     * ship ({@link #SHIPPED_JVM_FLAG}), the jar; plus the JVM options in the system property
     * {@value #JVM_OPTIONS_PROPERTY} (space-separated), e.g. to profile the relay with JFR, or
     * {@code -XX:TieredStopAtLevel=4} to measure with both JITs.
     */
    private static List<String> javaCommand() {
        return javaCommand(List.of());
    }

    /** As {@link #javaCommand()}, with {@code jvmOptions} last before the jar: they win over the ones before. */
    private static List<String> javaCommand(List<String> jvmOptions) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx256m");
        command.add(SHIPPED_JVM_FLAG);
        command.addAll(jvmOptions);
        String extra = System.getProperty(JVM_OPTIONS_PROPERTY, "").trim();
        if (!extra.isEmpty()) {
            command.addAll(List.of(extra.split("\\s+")));
        }
        command.add("-jar");
        command.add(jar().toString());
        return command;
    }

    private static void cleanEnvironment(ProcessBuilder builder, Map<String, String> extraEnv) {
        Map<String, String> env = builder.environment();
        env.keySet().removeIf(variable -> variable.startsWith("PGRELAY_"));
        env.putAll(extraEnv);
    }

    /** Writes {@code config} to {@code dir/relay.properties}. */
    public static Path writeConfig(Path dir, String fileName, Properties config) {
        Path file = dir.resolve(fileName);
        try (OutputStream out = Files.newOutputStream(file)) {
            config.store(out, "written by " + RelayProcess.class.getSimpleName());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    /**
     * Starts {@code pgrelay run -c FILE} with {@code config}, in a new directory under
     * {@code parent} (which is also the process's working directory, so a relative
     * {@code data.dir} stays inside it).
     */
    public static RelayProcess start(String name, Path parent, Properties config, Map<String, String> extraEnv) {
        return start(name, parent, config, extraEnv, List.of());
    }

    /** As above, with JVM options of its own (the bench's both-JITs consumer). */
    public static RelayProcess start(String name, Path parent, Properties config, Map<String, String> extraEnv,
                                     List<String> jvmOptions) {
        try {
            Path dir = Files.createDirectories(parent).resolve(name);
            Files.createDirectories(dir);
            Path configFile = writeConfig(dir, "relay.properties", config);
            Path log = dir.resolve("relay.log");
            List<String> command = javaCommand(jvmOptions);
            command.addAll(List.of("run", "-c", configFile.toString()));
            ProcessBuilder builder = new ProcessBuilder(command)
                    .directory(dir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(nullDevice()));
            cleanEnvironment(builder, extraEnv);
            Process process = builder.start();
            LIVE.add(process);
            process.onExit().thenRun(() -> LIVE.remove(process));
            return new RelayProcess(name, process, dir, log);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start relay process " + name, e);
        }
    }

    public static RelayProcess start(String name, Path parent, Properties config) {
        return start(name, parent, config, Map.of());
    }

    private static java.io.File nullDevice() {
        return new java.io.File("/dev/null");
    }

    public String name() {
        return name;
    }

    public long pid() {
        return process.pid();
    }

    public Path dir() {
        return dir;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL: no shutdown hook, no final feedback, no rollback; the OS closes the sockets. */
    public void kill9() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(KILL_WAIT.toSeconds(), TimeUnit.SECONDS)) {
            fail(name + " (pid " + pid() + ") survived SIGKILL for " + KILL_WAIT.toSeconds() + " s");
        }
    }

    /** SIGTERM, the signal systemd and docker stop send: the relay should stop cleanly. */
    public void term() throws IOException, InterruptedException {
        if (!process.isAlive()) {
            return;
        }
        Process kill = new ProcessBuilder("kill", "-TERM", Long.toString(pid()))
                .redirectErrorStream(true).start();
        String out = new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!kill.waitFor(10, TimeUnit.SECONDS) || (kill.exitValue() != 0 && process.isAlive())) {
            fail("kill -TERM " + pid() + " failed: " + out);
        }
    }

    /** Waits for the process to exit by itself and returns its exit code; fails (with the log) if it does not. */
    public int waitFor(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            fail(name + " (pid " + pid() + ") did not exit within " + timeout.toSeconds() + " s; log:\n" + log());
        }
        return process.exitValue();
    }

    /** The exit code if the process has exited, else null. */
    public Integer exitCode() {
        return process.isAlive() ? null : process.exitValue();
    }

    /** Everything the process wrote to stdout and stderr so far. */
    public String log() {
        try {
            return Files.exists(logFile) ? Files.readString(logFile, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public List<String> logLines() {
        return log().lines().toList();
    }

    /** True once the log contains {@code text}; false when the process exited or time ran out first. */
    public boolean awaitLog(String text, Duration timeout) throws InterruptedException {
        return await(() -> log().contains(text), timeout);
    }

    /** Polls {@code condition} every 50 ms until true, the process exits, or the timeout passes. */
    public boolean await(BooleanSupplier condition, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            if (!process.isAlive()) {
                return condition.getAsBoolean();
            }
            Thread.sleep(50);
        }
        return condition.getAsBoolean();
    }

    /** Kills the process if it still runs. */
    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(KILL_WAIT.toSeconds(), TimeUnit.SECONDS);
        }
        LIVE.remove(process);
    }

    @Override
    public String toString() {
        return "RelayProcess[" + name + ", pid " + pid() + (isAlive() ? ", running" : ", exited " + exitCode()) + "]";
    }

    // ---------------------------------------------------------------- one-shot commands

    /** What a one-shot command printed, and how it ended. */
    public record Result(int exitCode, String stdout, String stderr) {
        /** stdout followed by stderr. */
        public String output() {
            return stdout + stderr;
        }

        public List<String> stderrLines() {
            return stderr.lines().filter(line -> !line.isBlank()).toList();
        }

        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- stdout ---\n" + stdout + "--- stderr ---\n" + stderr;
        }
    }

    /**
     * Runs {@code pgrelay ARGS...} in {@code dir} and waits for it; fails if it runs longer than
     * {@code timeout} (and kills it).
     */
    public static Result runCommand(Path dir, Duration timeout, Map<String, String> extraEnv, String... args)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path out = Files.createTempFile(dir, "cli-", ".out");
        Path err = Files.createTempFile(dir, "cli-", ".err");
        List<String> command = javaCommand();
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(nullDevice()));
        cleanEnvironment(builder, extraEnv);
        Process process = builder.start();
        LIVE.add(process);
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(KILL_WAIT.toSeconds(), TimeUnit.SECONDS);
                fail("pgrelay " + String.join(" ", args) + " did not exit within " + timeout.toSeconds() + " s:\n"
                        + Files.readString(out) + Files.readString(err));
            }
            return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            if (process.isAlive()) {
                process.destroyForcibly();
            }
            LIVE.remove(process);
        }
    }
}
