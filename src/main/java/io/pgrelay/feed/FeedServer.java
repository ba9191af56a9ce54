package io.pgrelay.feed;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay's replication endpoint ({@code feed.listen}): accepts clients, runs each in its own
 * session thread, and knows which slot is streamed by whom.
 *
 * <p>Isolation: a session only reads the changelog files and its own socket, so a slow or
 * hostile client never blocks apply or other clients; at most {@code maxSessions} run at once.
 */
public final class FeedServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(FeedServer.class);

    private final FeedContext context;
    private final int maxSessions;
    private final ServerSocket listener;
    private final Thread acceptor;
    private final Set<FeedSession> sessions = ConcurrentHashMap.newKeySet();
    private final Map<String, FeedSession> activeSlots = new HashMap<>();
    private final Map<FeedSession, Set<String>> temporarySlots = new ConcurrentHashMap<>();
    private final AtomicInteger nextProcessId = new AtomicInteger(1);
    private final SecureRandom random = new SecureRandom();
    private final ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, runnable -> {
        Thread thread = new Thread(runnable, "pgrelay-feed-timer");
        thread.setDaemon(true);
        return thread;
    });
    private volatile boolean closed;

    private FeedServer(FeedContext context, int maxSessions, ServerSocket listener) {
        this.context = context;
        this.maxSessions = maxSessions;
        this.listener = listener;
        this.acceptor = new Thread(this::acceptLoop, "pgrelay-feed-accept");
        this.acceptor.setDaemon(true);
        // A cancelled handshake deadline must not stay queued (holding its session) until it would have fired.
        this.timer.setRemoveOnCancelPolicy(true);
    }

    public static FeedServer start(FeedContext context, InetSocketAddress address, int maxSessions) throws IOException {
        ServerSocket listener = new ServerSocket();
        listener.setReuseAddress(true);
        listener.bind(address);
        FeedServer server = new FeedServer(context, maxSessions, listener);
        server.acceptor.start();
        log.info("feed listening on {}", listener.getLocalSocketAddress());
        return server;
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** Clients currently connected, streaming or not. */
    public int sessionCount() {
        return sessions.size();
    }

    public synchronized boolean isStreaming(String slot) {
        return activeSlots.containsKey(slot);
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket socket = listener.accept();
                int processId = nextProcessId.getAndIncrement();
                FeedSession session = new FeedSession(socket, context, this, processId, random.nextInt());
                if (sessions.size() >= maxSessions) {
                    refuse(socket);
                    continue;
                }
                sessions.add(session);
                Thread thread = new Thread(session, "pgrelay-feed-" + processId);
                thread.setDaemon(true);
                thread.start();
            } catch (IOException e) {
                if (!closed) {
                    log.warn("feed accept failed: {}", e.getMessage());
                }
            }
        }
    }

    private void refuse(Socket socket) {
        log.warn("feed refused {}: {} clients connected already", socket.getRemoteSocketAddress(), maxSessions);
        try (socket) {
            // Answer like PostgreSQL does before authentication: a bare FATAL ErrorResponse.
            var out = new io.pgrelay.feed.wire.WireWriter(socket.getOutputStream());
            out.error("FATAL", "53300", "sorry, too many clients already");
            out.flush();
        } catch (IOException ignored) {
            // Refusing is best effort.
        }
    }

    synchronized boolean activate(String slot, FeedSession session) {
        if (activeSlots.containsKey(slot)) {
            return false;
        }
        activeSlots.put(slot, session);
        return true;
    }

    synchronized void deactivate(String slot, FeedSession session) {
        activeSlots.remove(slot, session);
        notifyAll();
    }

    synchronized boolean isActive(String slot) {
        return activeSlots.containsKey(slot);
    }

    synchronized boolean awaitInactive(String slot, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (activeSlots.containsKey(slot)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                wait(Math.max(1, left / 1_000_000));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        return true;
    }

    /** The feed's timer thread: deadlines and watchdogs, never blocking work. */
    ScheduledExecutorService timer() {
        return timer;
    }

    /** Closes the session's socket after {@code millis} unless the returned future is cancelled first. */
    ScheduledFuture<?> closeUnlessCancelled(FeedSession session, long millis) {
        return timer.schedule(() -> {
            log.info("feed client {} did not finish logging in within {} s: closed", session.client(), millis / 1000);
            session.closeQuietly();
        }, millis, TimeUnit.MILLISECONDS);
    }

    void ownTemporarySlot(FeedSession session, String slot) {
        temporarySlots.computeIfAbsent(session, s -> ConcurrentHashMap.newKeySet()).add(slot);
    }

    void sessionEnded(FeedSession session) {
        sessions.remove(session);
        Set<String> temporary = temporarySlots.remove(session);
        if (temporary != null) {
            for (String slot : temporary) {
                try {
                    context.slots().drop(slot);
                } catch (IOException e) {
                    log.warn("could not drop temporary feed slot {}: {}", slot, e.getMessage());
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            listener.close();
        } catch (IOException ignored) {
            // Closing the listener only stops new clients.
        }
        timer.shutdownNow();
        for (FeedSession session : sessions) {
            session.closeQuietly();
        }
        try {
            acceptor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
