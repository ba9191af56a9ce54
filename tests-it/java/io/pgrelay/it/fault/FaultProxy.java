package io.pgrelay.it.fault;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on a free loopback port in front of one target (a PostgreSQL server or a relay's
 * feed), whose behaviour a test switches at run time:
 *
 * <ul>
 *   <li>{@link #pass()}: forward everything (the start state);
 *   <li>{@link #delay(Duration)}: forward every chunk after a pause;
 *   <li>{@link #dropConnections()}: close both sides of every open connection (FIN);
 *   <li>{@link #resetMidMessage()}: the next chunk in either direction is forwarded half, then
 *       both sides are reset (RST, {@code SO_LINGER 0});
 *   <li>{@link #blackHole()}: forward nothing, keep every socket open, accept new connections but
 *       connect them nowhere yet — a partitioned network. {@link #pass()} heals it: what was held
 *       is delivered late, as TCP retransmission would, and a side that closed meanwhile is then
 *       closed on the other side too.
 * </ul>
 *
 * <p>Two threads per connection (one per direction) plus the accept thread, all daemons, all
 * ended by {@link #close()}. A pump thread's unexpected failure is kept and thrown by
 * {@link #close()}, so a broken proxy cannot pass for a working relay.
 */
public final class FaultProxy implements AutoCloseable {

    private static final int CHUNK = 16 * 1024;

    private final String name;
    private final InetSocketAddress target;
    private final ServerSocket listener;
    private final Thread acceptor;
    private final Set<Link> links = ConcurrentHashMap.newKeySet();
    private final List<Throwable> failures = new CopyOnWriteArrayList<>();
    private final Object modeLock = new Object();
    private final AtomicInteger accepted = new AtomicInteger();
    private volatile boolean blackHoled;
    private volatile long delayMillis;
    private volatile boolean resetArmed;
    private volatile boolean closed;

    private FaultProxy(String name, InetSocketAddress target) throws IOException {
        this.name = name;
        this.target = target;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.acceptor = new Thread(this::acceptLoop, "fault-proxy-" + name + "-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** A proxy in front of {@code host:port}; the caller closes it. */
    public static FaultProxy start(String name, String host, int port) throws IOException {
        return new FaultProxy(name, new InetSocketAddress(host, port));
    }

    public String name() {
        return name;
    }

    public String host() {
        return "127.0.0.1";
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** {@code jdbc:postgresql://127.0.0.1:PORT/DB}: the proxy's address for a JDBC URL. */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://" + host() + ":" + port() + "/" + database;
    }

    /** Connections accepted so far. */
    public int accepted() {
        return accepted.get();
    }

    /** Connections open now. */
    public int open() {
        return links.size();
    }

    /** Forward everything again; ends a black hole (held data is delivered) and any delay. */
    public void pass() {
        synchronized (modeLock) {
            delayMillis = 0;
            blackHoled = false;
            modeLock.notifyAll();
        }
    }

    public void delay(Duration delay) {
        delayMillis = delay.toMillis();
    }

    /** Stop forwarding, keep every socket open: a partition. {@link #pass()} heals it. */
    public void blackHole() {
        synchronized (modeLock) {
            blackHoled = true;
        }
    }

    /** Closes both sides of every open connection; returns how many there were. */
    public int dropConnections() {
        int dropped = 0;
        for (Link link : links) {
            link.close(false);
            dropped++;
        }
        return dropped;
    }

    /** The next chunk, either direction, goes through half and then both sides are reset. */
    public void resetMidMessage() {
        resetArmed = true;
    }

    /** True while an armed reset has not happened yet. */
    public boolean resetPending() {
        return resetArmed;
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                if (!closed) {
                    failures.add(e);
                }
                return;
            }
            accepted.incrementAndGet();
            Link link = new Link(client);
            links.add(link);
            Thread connect = new Thread(link::connectAndPump, "fault-proxy-" + name + "-link");
            connect.setDaemon(true);
            connect.start();
        }
    }

    /** Waits while black-holed; false once the link or the proxy closed meanwhile. */
    private boolean awaitForwarding(Link link) throws InterruptedException {
        synchronized (modeLock) {
            while (blackHoled && !closed && !link.closed) {
                modeLock.wait(100);
            }
        }
        return !closed && !link.closed;
    }

    /** One client connection and its connection to the target. */
    private final class Link {
        private final Socket client;
        private volatile Socket server;
        private volatile boolean closed;
        private final AtomicInteger pumpsDone = new AtomicInteger();

        Link(Socket client) {
            this.client = client;
        }

        void connectAndPump() {
            try {
                // A partition also holds back new connections: connect only once it heals.
                if (!awaitForwarding(this)) {
                    close(false);
                    return;
                }
                Socket upstream = new Socket();
                upstream.connect(target, 10_000);
                server = upstream;
                client.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
                Thread back = new Thread(() -> pump(upstream, client), "fault-proxy-" + name + "-down");
                back.setDaemon(true);
                back.start();
                pump(client, upstream);
            } catch (IOException e) {
                close(false); // target down (a restart under test): the client sees the connection close
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                close(false);
            }
        }

        /** Copies {@code from} to {@code to} chunk by chunk, obeying the proxy's mode at each chunk. */
        private void pump(Socket from, Socket to) {
            byte[] buffer = new byte[CHUNK];
            try {
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                while (true) {
                    int n = in.read(buffer);
                    if (!awaitForwarding(this)) {
                        return;
                    }
                    if (n < 0) {
                        to.shutdownOutput(); // pass the half-close on, as TCP would
                        break;
                    }
                    long delay = delayMillis;
                    if (delay > 0) {
                        Thread.sleep(delay);
                    }
                    if (resetArmed && n >= 2) {
                        resetArmed = false;
                        out.write(buffer, 0, n / 2);
                        out.flush();
                        close(true);
                        return;
                    }
                    out.write(buffer, 0, n);
                    out.flush();
                }
            } catch (SocketException e) {
                // Reset (a killed process, a client that closed with unread data): without the
                // proxy the other peer would see the RST itself, so pass it on. A server would
                // otherwise keep a backend idle in its transaction, holding locks, forever.
                close(true);
            } catch (IOException e) {
                if (!closed && !FaultProxy.this.closed) {
                    failures.add(e);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                if (pumpsDone.incrementAndGet() == 2 || closed) {
                    close(false);
                }
            }
        }

        /** Closes both sides; {@code reset} sends RST instead of FIN. */
        void close(boolean reset) {
            closed = true;
            links.remove(this);
            closeSocket(client, reset);
            Socket upstream = server;
            if (upstream != null) {
                closeSocket(upstream, reset);
            }
        }
    }

    private static void closeSocket(Socket socket, boolean reset) {
        try {
            if (reset) {
                socket.setSoLinger(true, 0);
            }
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    /** Closes the listener and every connection; throws the first unexpected pump failure. */
    @Override
    public void close() throws IOException {
        closed = true;
        pass();
        try {
            listener.close();
        } finally {
            for (Link link : links) {
                link.close(false);
            }
        }
        try {
            acceptor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!failures.isEmpty()) {
            IOException failure = new IOException("fault proxy " + name + " failed: " + failures.get(0), failures.get(0));
            failures.stream().skip(1).forEach(failure::addSuppressed);
            throw failure;
        }
    }

    @Override
    public String toString() {
        return "FaultProxy[" + name + " :" + port() + " -> " + target.getPort() + (blackHoled ? ", black hole" : "")
                + (delayMillis > 0 ? ", delay " + delayMillis + " ms" : "") + ", " + links.size() + " open]";
    }
}
