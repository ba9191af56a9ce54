package io.pgrelay.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.sql.SQLException;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class UpstreamLivenessTest {

    @Test
    void pingsOnceAtHalfTheTimeAndGivesUpAtTheTimeout() throws Exception {
        UpstreamLiveness liveness = new UpstreamLiveness(Duration.ofMillis(400));
        assertFalse(liveness.pingDue(), "no ping while the upstream spoke recently");
        liveness.check();

        Thread.sleep(250);
        assertTrue(liveness.pingDue(), "silent for more than half the timeout: ping");
        assertFalse(liveness.pingDue(), "one ping per silence");
        liveness.check();

        Thread.sleep(200);
        SQLException dead = assertThrows(SQLException.class, liveness::check);
        assertEquals("08006", dead.getSQLState(), "a connection failure, which the relay retries");
        assertTrue(dead.getMessage().contains("upstream.timeout"), dead.getMessage());
    }

    @Test
    void hearingOrNotReadingStartsTheClockAgain() throws Exception {
        UpstreamLiveness liveness = new UpstreamLiveness(Duration.ofMillis(300));
        Thread.sleep(200);
        assertTrue(liveness.pingDue());
        liveness.heard();
        assertFalse(liveness.pingDue());
        Thread.sleep(200);
        liveness.notReading(); // apply was behind: silence said nothing
        Thread.sleep(200);
        liveness.check();
        assertTrue(liveness.pingDue(), "a new silence gets a new ping");
    }

    @Test
    void socketsFromTheFactoryReportEveryRead() throws Exception {
        UpstreamLiveness liveness = new UpstreamLiveness(Duration.ofMillis(300));
        String key = liveness.register();
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket client = new LivenessSocketFactory(key).createSocket()) {
            client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()));
            try (Socket peer = server.accept()) {
                OutputStream out = peer.getOutputStream();
                InputStream in = client.getInputStream();
                for (int i = 0; i < 4; i++) {
                    Thread.sleep(100);
                    out.write(new byte[] {1, 2, 3});
                    out.flush();
                    assertEquals(3, in.readNBytes(3).length);
                }
                liveness.check(); // 400 ms in all, but bytes every 100 ms
                assertFalse(liveness.pingDue());
            }
        } finally {
            UpstreamLiveness.unregister(key);
        }
        assertTrue(UpstreamLiveness.forKey(key) == UpstreamLiveness.NONE, "unregistered keys fall back to NONE");
    }
}
