package io.pgrelay.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs a client program to its end with a deadline; its output goes to a file (no pipe to drain). */
final class ProcessRun {

    private ProcessRun() {
    }

    record Result(List<String> command, int exitCode, String output) {
        @Override
        public String toString() {
            String tail = output.length() > 2_000 ? "…" + output.substring(output.length() - 2_000) : output;
            return String.join(" ", command) + " exited " + exitCode + ": " + tail.strip();
        }
    }

    static Result run(List<String> command, Map<String, String> env, Duration timeout, Path work)
            throws IOException, InterruptedException {
        Files.createDirectories(work);
        Path log = Files.createTempFile(work, "process-", ".log");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        builder.environment().putAll(env);
        Process process = builder.start();
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException(String.join(" ", command) + " did not finish within "
                        + timeout.toSeconds() + " s: " + Files.readString(log, StandardCharsets.UTF_8));
            }
            return new Result(command, process.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
        } finally {
            if (process.isAlive()) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
            Files.deleteIfExists(log);
        }
    }
}
