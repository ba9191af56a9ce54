package io.pgrelay.cli;

import io.pgrelay.relay.Relay;
import java.time.Duration;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * Turns SIGTERM and SIGINT into an orderly stop: finish or roll back the current transaction,
 * send final feedback, exit 0. Handling the signals directly (rather than in a shutdown hook)
 * lets the process exit with 0 instead of 143. A watchdog halts the JVM if the stop stalls.
 *
 * <p>Installed before anything else starts; a signal that arrives before the relay exists is
 * remembered and honoured as soon as it is attached.
 */
final class StopSignals {

    private static final Logger log = LoggerFactory.getLogger(StopSignals.class);

    private StopSignals() {}

    /** Handles TERM/INT from now on; a relay attached later is stopped by them. */
    static final class Deferred {
        private Relay relay;
        private Duration timeout;
        private String pendingSignal;
        private boolean detached;

        synchronized void attach(Relay relay, Duration timeout) {
            this.relay = relay;
            this.timeout = timeout;
            if (pendingSignal != null) {
                stop(relay, timeout, pendingSignal);
            }
        }

        /** No relay will come (configuration failed): signals end the process at once. */
        synchronized void detach() {
            detached = true;
        }

        private synchronized void signal(String name) {
            if (relay != null) {
                stop(relay, timeout, name);
            } else if (detached) {
                Runtime.getRuntime().halt(ExitCode.OK);
            } else {
                log.info("{} received during start-up: stopping once started", name);
                pendingSignal = name;
            }
        }
    }

    static Deferred installEarly() {
        Deferred deferred = new Deferred();
        install(deferred::signal);
        return deferred;
    }

    /**
     * Handles TERM and INT from now on by calling {@code onSignal} with the signal's name
     * ({@code SIGTERM}, {@code SIGINT}) on the JVM's signal thread; the process does not exit by
     * itself, so the caller decides how to stop and with which code.
     */
    static void install(Consumer<String> onSignal) {
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                Signal.handle(new Signal(name), signal -> onSignal.accept("SIG" + name));
            } catch (IllegalArgumentException e) {
                log.debug("cannot handle SIG{} here: {}", name, e.getMessage());
            }
        }
    }

    /** The stacks of the relay's own threads, so a stop that hangs can be diagnosed after the halt. */
    private static String relayThreads() {
        StringBuilder dump = new StringBuilder();
        Thread.getAllStackTraces().forEach((thread, stack) -> {
            if (thread.getName().startsWith("pgrelay-") && !thread.getName().equals("pgrelay-stop-watchdog")) {
                dump.append("\n  ").append(thread.getName()).append(" (").append(thread.getState()).append(')');
                for (int i = 0; i < Math.min(stack.length, 12); i++) {
                    dump.append("\n    at ").append(stack[i]);
                }
            }
        });
        return dump.toString();
    }

    private static void stop(Relay relay, Duration timeout, String signal) {
        log.info("{} received: stopping at the next transaction boundary (at most {} s)", signal, timeout.toSeconds());
        relay.requestStop();
        Thread watchdog = new Thread(() -> {
            try {
                if (!relay.awaitStopped(timeout)) {
                    log.error("stop did not finish within {} s: halting; the relay resumes from its checkpoint on restart",
                            timeout.toSeconds());
                    log.warn("where the relay's threads were stuck:{}", relayThreads());
                    Runtime.getRuntime().halt(ExitCode.FAILURE);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "pgrelay-stop-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }
}
