package io.pgrelay.embedded;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A tiny shell loop, one per server, that shuts the server down if this JVM disappears without
 * running its shutdown hooks (SIGKILL, {@code Runtime.halt}, a test fork timeout). It also ends
 * by itself once the server's work directory is deleted by a normal close.
 */
final class OrphanGuard {

    private static final String SCRIPT = String.join("\n",
            "trap '' INT HUP",
            // /proc works even when the JVM is root and this loop is not; kill -0 covers systems without /proc.
            "jvm_alive() { [ -d \"/proc/$1\" ] || kill -0 \"$1\" 2>/dev/null; }",
            "while jvm_alive \"$1\" && [ -d \"$2\" ]; do sleep 1; done",
            "[ -d \"$2\" ] || exit 0",
            "\"$4\" -D \"$3\" -m immediate -w -t 30 stop",
            "rm -rf -- \"$2\"");

    private static final long DISMISS_WAIT_MILLIS = 500;

    private final Process process;

    private OrphanGuard(Process process) {
        this.process = process;
    }

    static OrphanGuard watch(ServerUser user, Path pgCtl, Path dataDir, Path workDir) {
        String jvmPid = Long.toString(ProcessHandle.current().pid());
        List<String> command = user.command(List.of("sh", "-c", SCRIPT, "pgrelay-orphan-guard",
                jvmPid, workDir.toString(), dataDir.toString(), pgCtl.toString()));
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Commands.scrubEnvironment(builder.environment());
        try {
            return new OrphanGuard(builder.start());
        } catch (IOException e) {
            throw new EmbeddedPostgresException("cannot start the orphan guard for " + dataDir + ": " + e, e);
        }
    }

    /**
     * Ends the loop; the server is either stopped or meant to outlive this JVM. The loop's shell
     * goes first: runuser then returns at once, where a signal to runuser itself would keep it
     * waiting two seconds for its child.
     */
    void dismiss() {
        process.descendants().forEach(ProcessHandle::destroy);
        try {
            if (!process.waitFor(DISMISS_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
                process.destroy(); // not under runuser: the shell is the process itself
                process.waitFor(DISMISS_WAIT_MILLIS, TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
