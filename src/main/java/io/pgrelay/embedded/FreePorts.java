package io.pgrelay.embedded;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** Picks loopback TCP ports that nothing is listening on. */
public final class FreePorts {

    /**
     * The kernel may hand the same ephemeral port out again once our probe socket is closed;
     * remembering what this JVM already gave away keeps two servers started back to back apart.
     */
    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

    private FreePorts() {
    }

    /** A port on 127.0.0.1 that was free a moment ago and that this JVM has not handed out before. */
    public static int next() {
        for (int attempt = 0; attempt < 100; attempt++) {
            try (ServerSocket probe = new ServerSocket()) {
                probe.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
                int port = probe.getLocalPort();
                if (HANDED_OUT.add(port)) {
                    return port;
                }
            } catch (IOException e) {
                throw new EmbeddedPostgresException("cannot bind a probe socket on 127.0.0.1: " + e, e);
            }
        }
        throw new EmbeddedPostgresException("no unused loopback port found after 100 probes");
    }
}
