package io.pgrelay.fuzz;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

/**
 * A loopback TCP proxy that records what each client sends to the server: how the fuzz tests
 * capture real client sessions (pg_recvlogical, pgjdbc) as seeds. Plain TCP only: clients must not
 * negotiate TLS through it (the feed answers 'N' when it has no certificate).
 */
public final class RecordingProxy implements AutoCloseable {

    private final ServerSocket listener;
    private final int target;
    private final List<ByteArrayOutputStream> sessions = new ArrayList<>();
    private final List<Socket> sockets = new ArrayList<>();
    private final Thread acceptor;

    public RecordingProxy(int targetPort) throws IOException {
        this.target = targetPort;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.acceptor = new Thread(this::accept, "recording-proxy");
        this.acceptor.setDaemon(true);
        this.acceptor.start();
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** Every session's client-to-server bytes so far, in connection order. */
    public synchronized List<byte[]> recorded() {
        return sessions.stream().map(ByteArrayOutputStream::toByteArray).toList();
    }

    private void accept() {
        try {
            while (true) {
                Socket client = listener.accept();
                Socket server = new Socket(InetAddress.getLoopbackAddress(), target);
                ByteArrayOutputStream record = new ByteArrayOutputStream();
                synchronized (this) {
                    sessions.add(record);
                    sockets.add(client);
                    sockets.add(server);
                }
                pump(client.getInputStream(), server.getOutputStream(), record, server);
                pump(server.getInputStream(), client.getOutputStream(), null, client);
            }
        } catch (IOException closed) {
            // The proxy was closed.
        }
    }

    private void pump(InputStream from, OutputStream to, ByteArrayOutputStream record, Socket closeWhenDone) {
        Thread thread = new Thread(() -> {
            byte[] buffer = new byte[8192];
            try {
                int n;
                while ((n = from.read(buffer)) >= 0) {
                    if (record != null) {
                        synchronized (this) {
                            record.write(buffer, 0, n);
                        }
                    }
                    to.write(buffer, 0, n);
                    to.flush();
                }
            } catch (IOException ignored) {
                // One side went away.
            } finally {
                try {
                    closeWhenDone.close();
                } catch (IOException ignored) {
                    // Closing is all that is left to do.
                }
            }
        }, "recording-proxy-pump");
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public synchronized void close() throws IOException {
        listener.close();
        for (Socket socket : sockets) {
            socket.close();
        }
    }
}
