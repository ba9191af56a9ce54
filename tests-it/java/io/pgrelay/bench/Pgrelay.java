package io.pgrelay.bench;

import io.pgrelay.it.PgCluster;
import io.pgrelay.process.RelayProcess;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/** pgrelay as the operators run it: settings for one relay process, and its start and stop. */
final class Pgrelay {

    private static final Duration STOP_WAIT = Duration.ofSeconds(60);
    private static final int LOG_TAIL_LINES = 30;

    private Pgrelay() {
    }

    /**
     * A relay reading {@code slot} at {@code upstreamUrl} and applying into {@code db} on
     * {@code downstream}, with /metrics on {@code httpPort}; then the run's
     * {@code -Dbench.pgrelay.KEY=VALUE} settings on top.
     */
    static Properties config(String slot, String upstreamUrl, String user, String password, PgCluster downstream,
                             String db, int httpPort, Map<String, String> extra) {
        Properties p = new Properties();
        p.setProperty("upstream.url", upstreamUrl);
        p.setProperty("upstream.user", user);
        p.setProperty("upstream.password", password);
        p.setProperty("upstream.slot", slot);
        p.setProperty("upstream.publications", Stage.PUBLICATION);
        p.setProperty("downstream.url", downstream.jdbcUrl(db));
        p.setProperty("downstream.user", downstream.user());
        p.setProperty("downstream.password", downstream.password());
        p.setProperty("http.listen", "127.0.0.1:" + httpPort);
        p.putAll(extra);
        return p;
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** Throws, with the end of its log, when the relay process has exited. */
    static void requireAlive(RelayProcess relay) {
        if (!relay.isAlive()) {
            throw new IllegalStateException(relay.name() + " exited with code " + relay.exitCode() + "; log tail:\n"
                    + logTail(relay));
        }
    }

    static String logTail(RelayProcess relay) {
        List<String> lines = relay.logLines();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size()));
    }

    /** SIGTERM and wait for a clean exit (code 0); kills it and throws otherwise. */
    static void stop(RelayProcess relay) throws Exception {
        try {
            relay.term();
            int code = relay.waitFor(STOP_WAIT);
            if (code != 0) {
                throw new IllegalStateException(relay.name() + " exited with code " + code + " on SIGTERM; log tail:\n"
                        + logTail(relay));
            }
        } finally {
            relay.close();
        }
    }
}
