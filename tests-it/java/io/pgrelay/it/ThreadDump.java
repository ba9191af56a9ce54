package io.pgrelay.it;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The stacks of this JVM's relay threads, for a failure message: a relay that stopped making
 * progress says where it waits. In-process relays only ({@link RelayRunner}); a relay process
 * is dumped with jstack.
 */
public final class ThreadDump {
    private ThreadDump() {}

    /** Every thread whose name starts with "pgrelay" or "test-relay", with locks held and awaited. */
    public static String relayThreads() {
        ThreadInfo[] threads = ManagementFactory.getThreadMXBean().dumpAllThreads(true, true);
        return Arrays.stream(threads)
                .filter(t -> t.getThreadName().startsWith("pgrelay") || t.getThreadName().startsWith("test-relay"))
                .map(ThreadDump::format)
                .collect(Collectors.joining("\n"));
    }

    /** ThreadInfo.toString cuts stacks at 8 frames; the interesting frame is often deeper. */
    private static String format(ThreadInfo thread) {
        StringBuilder out = new StringBuilder("\"" + thread.getThreadName() + "\" " + thread.getThreadState());
        if (thread.getLockName() != null) {
            out.append(" on ").append(thread.getLockName());
        }
        if (thread.getLockOwnerName() != null) {
            out.append(" owned by \"").append(thread.getLockOwnerName()).append('"');
        }
        out.append('\n');
        for (StackTraceElement frame : thread.getStackTrace()) {
            out.append("\tat ").append(frame).append('\n');
        }
        return out.toString();
    }
}
