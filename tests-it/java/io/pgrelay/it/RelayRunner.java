package io.pgrelay.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.apply.ApplyListener;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.relay.Relay;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A relay running in the test JVM on its own thread. {@link #close()} stops it and fails the
 * test if it did not exit cleanly, so a relay that died in the background never leaves a test
 * green.
 */
public final class RelayRunner implements AutoCloseable {

    private final Relay relay;
    private final CompletableFuture<Integer> exit = new CompletableFuture<>();

    private RelayRunner(RelayConfig config) {
        this.relay = new Relay(config, ApplyListener.NONE);
        Thread thread = new Thread(() -> {
            try {
                exit.complete(relay.run());
            } catch (Throwable t) {
                exit.completeExceptionally(t);
            }
        }, "test-relay-" + config.relayName());
        thread.setDaemon(true);
        thread.start();
    }

    public static RelayRunner start(RelayConfig config) {
        return new RelayRunner(config);
    }

    /** A relay on {@code pair} named {@code name}, reading its publication and slot of that name. */
    public static RelayRunner start(ReplicationPair pair, String name) {
        return start(pair.config(pair.properties(name, name)));
    }

    /** As {@link #start(ReplicationPair, String)}, returning once the relay streams. */
    public static RelayRunner streaming(ReplicationPair pair, String name, Duration timeout) throws InterruptedException {
        RelayRunner relay = start(pair, name);
        relay.awaitStreaming(timeout);
        return relay;
    }

    /** Waits for the relay to stop by itself (a permanent failure) and returns its exit code. */
    public int awaitExit(Duration timeout) throws Exception {
        return exit.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The one-line message of the permanent failure that stopped the relay, or null. */
    public String failure() {
        return relay.failure();
    }

    public boolean hasExited() {
        return exit.isDone();
    }

    public void awaitStreaming(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!relay.isStreaming() && !exit.isDone() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(relay.isStreaming(), "relay did not start streaming within " + timeout.toSeconds() + " s");
    }

    /** Stops the relay and asserts a clean exit (code 0) unless it already exited on its own. */
    @Override
    public void close() throws Exception {
        boolean exitedOnItsOwn = exit.isDone();
        relay.requestStop();
        int code = exit.get(30, TimeUnit.SECONDS);
        if (!exitedOnItsOwn) {
            assertEquals(0, code, "relay did not stop cleanly");
        }
    }
}
