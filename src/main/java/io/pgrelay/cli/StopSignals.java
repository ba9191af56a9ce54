package io.pgrelay.cli;

import io.pgrelay.relay.Relay;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * Turns SIGTERM and SIGINT into an orderly stop: finish or roll back the current transaction,
 * send final feedback, exit 0. Handling the signals directly (rather than in a shutdown hook)
 * lets the process exit with 0 instead of 143. A watchdog halts the JVM if the stop stalls.
 */
final class StopSignals {

    private static final Logger log = LoggerFactory.getLogger(StopSignals.class);

    private StopSignals() {}

    static void install(Relay relay, Duration timeout) {
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                Signal.handle(new Signal(name), signal -> stop(relay, timeout, "SIG" + name));
            } catch (IllegalArgumentException e) {
                log.debug("cannot handle SIG{} here: {}", name, e.getMessage());
            }
        }
    }

    private static void stop(Relay relay, Duration timeout, String signal) {
        log.info("{} received: stopping at the next transaction boundary (at most {} s)", signal, timeout.toSeconds());
        relay.requestStop();
        Thread watchdog = new Thread(() -> {
            try {
                if (!relay.awaitStopped(timeout)) {
                    log.error("stop did not finish within {} s: halting; the relay resumes from its checkpoint on restart",
                            timeout.toSeconds());
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
