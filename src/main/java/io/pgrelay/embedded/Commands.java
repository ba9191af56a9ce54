package io.pgrelay.embedded;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs an external command to completion with a deadline and collects what it printed. */
public final class Commands {

    /** The outcome of one command: its exit code and its interleaved stdout and stderr. */
    public record Result(List<String> command, int exitCode, String output) {

        public boolean succeeded() {
            return exitCode == 0;
        }

        public String describe() {
            return String.join(" ", command) + " exited with " + exitCode
                    + (output.isBlank() ? "" : ":\n" + output.strip());
        }
    }

    private Commands() {
    }

    /** Runs {@code command} in {@code workDir} (null: the current directory); throws only when it cannot start. */
    public static Result run(List<String> command, Path workDir, Duration timeout) {
        Path outputFile = null;
        try {
            // Output goes to a file, not a pipe: pg_ctl starts a server that could inherit a pipe
            // and keep it open forever, which would make reading it hang.
            outputFile = Files.createTempFile("pgrelay-cmd-", ".out");
            ProcessBuilder builder = new ProcessBuilder(command)
                    .directory(workDir == null ? null : workDir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(outputFile.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            scrubEnvironment(builder.environment());
            Process process = builder.start();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
                return new Result(command, -1, "timed out after " + timeout.toSeconds() + " s\n"
                        + Files.readString(outputFile, StandardCharsets.UTF_8));
            }
            return new Result(command, process.exitValue(), Files.readString(outputFile, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new EmbeddedPostgresException("cannot run " + String.join(" ", command) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EmbeddedPostgresException("interrupted while running " + String.join(" ", command), e);
        } finally {
            deleteQuietly(outputFile);
        }
    }

    /** As {@link #run}, but a non-zero exit is an {@link EmbeddedPostgresException} carrying the output. */
    public static Result runOrThrow(List<String> command, Path workDir, Duration timeout) {
        Result result = run(command, workDir, timeout);
        if (!result.succeeded()) {
            throw new EmbeddedPostgresException(result.describe());
        }
        return result;
    }

    /**
     * A user's PGPORT, PGDATA or PGHOST must not steer the server, and a C locale keeps server
     * messages in English so failures read the same everywhere.
     */
    static void scrubEnvironment(Map<String, String> environment) {
        environment.keySet().removeIf(name -> name.startsWith("PG"));
        environment.put("LC_ALL", "C");
        environment.put("LANG", "C");
    }

    private static void deleteQuietly(Path file) {
        if (file == null) {
            return;
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // a stray temp file is harmless
        }
    }
}
