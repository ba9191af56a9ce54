package io.pgrelay.it.fault;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The fault proxy itself, in front of an echo server: each mode does what the fault tests rely on. */
@Timeout(30)
class FaultProxyIT {

    private ServerSocket echo;
    private Thread echoThread;
    private FaultProxy proxy;

    @BeforeEach
    void start() throws IOException {
        echo = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
        echoThread = new Thread(() -> {
            while (!echo.isClosed()) {
                try {
                    Socket client = echo.accept();
                    Thread each = new Thread(() -> {
                        try (client; InputStream in = client.getInputStream(); OutputStream out = client.getOutputStream()) {
                            in.transferTo(out);
                        } catch (IOException ignored) {
                            // the test cut it
                        }
                    });
                    each.setDaemon(true);
                    each.start();
                } catch (IOException e) {
                    return;
                }
            }
        });
        echoThread.setDaemon(true);
        echoThread.start();
        proxy = FaultProxy.start("test", "127.0.0.1", echo.getLocalPort());
    }

    @AfterEach
    void stop() throws Exception {
        proxy.close();
        echo.close();
    }

    private Socket connect() throws IOException {
        Socket socket = new Socket(proxy.host(), proxy.port());
        socket.setSoTimeout(3000);
        return socket;
    }

    private static byte[] roundTrip(Socket socket, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
        return socket.getInputStream().readNBytes(bytes.length);
    }

    @Test
    void passesAndDelays() throws Exception {
        try (Socket socket = connect()) {
            assertArrayEquals("hello".getBytes(StandardCharsets.UTF_8), roundTrip(socket, "hello"));
            proxy.delay(Duration.ofMillis(300));
            long started = System.nanoTime();
            assertArrayEquals("late".getBytes(StandardCharsets.UTF_8), roundTrip(socket, "late"));
            assertTrue(System.nanoTime() - started >= Duration.ofMillis(550).toNanos(), "both directions delayed");
        }
        assertEquals(1, proxy.accepted());
    }

    @Test
    void blackHoleHoldsEverythingAndHealingDeliversIt() throws Exception {
        try (Socket socket = connect()) {
            roundTrip(socket, "warm");
            proxy.blackHole();
            socket.setSoTimeout(500);
            socket.getOutputStream().write("held".getBytes(StandardCharsets.UTF_8));
            assertThrows(SocketTimeoutException.class, () -> socket.getInputStream().read(), "nothing gets through");
            try (Socket second = new Socket(proxy.host(), proxy.port())) {
                second.setSoTimeout(300);
                second.getOutputStream().write(1);
                assertThrows(SocketTimeoutException.class, () -> second.getInputStream().read(),
                        "a new connection is held too");
            }
            proxy.pass();
            socket.setSoTimeout(3000);
            assertArrayEquals("held".getBytes(StandardCharsets.UTF_8), socket.getInputStream().readNBytes(4),
                    "held bytes arrive after healing");
        }
    }

    @Test
    void dropClosesAndResetResets() throws Exception {
        try (Socket socket = connect()) {
            roundTrip(socket, "x");
            assertEquals(1, proxy.dropConnections());
            assertEquals(-1, socket.getInputStream().read(), "closed: end of stream");
        }
        try (Socket socket = connect()) {
            roundTrip(socket, "y");
            proxy.resetMidMessage();
            socket.getOutputStream().write("0123456789".getBytes(StandardCharsets.UTF_8));
            socket.getOutputStream().flush();
            IOException reset = assertThrows(IOException.class, () -> {
                byte[] got = socket.getInputStream().readNBytes(10);
                if (got.length < 10) {
                    throw new SocketException("cut after " + got.length + " bytes");
                }
            });
            assertFalse(proxy.resetPending(), "the reset happened: " + reset);
        }
    }
}
