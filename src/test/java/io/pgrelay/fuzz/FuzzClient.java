package io.pgrelay.fuzz;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;

/** Plays one hostile session against a server: send everything, close the sending side, read to the end. */
public final class FuzzClient {

    private FuzzClient() {}

    /** False when the server did not end the session within {@code timeoutMillis} after the client finished. */
    public static boolean exchange(int port, byte[] input, int timeoutMillis) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            socket.setSoTimeout(timeoutMillis);
            try {
                socket.getOutputStream().write(input);
                socket.shutdownOutput();
            } catch (IOException closedEarly) {
                // The server may already have refused the session: that is fine.
            }
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[8192];
            while (in.read(buffer) >= 0) {
                // drain until the server closes
            }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset by the server: the session ended
        }
    }
}
