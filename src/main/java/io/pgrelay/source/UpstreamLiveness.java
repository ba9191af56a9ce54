package io.pgrelay.source;

import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * When the upstream last sent anything, and what that means: the relay's
 * {@code wal_receiver_timeout}. pgjdbc consumes keepalives inside {@code readPending} and says
 * nothing about them, so the bytes are observed on the socket itself ({@link LivenessSocketFactory}).
 *
 * <p>A silent upstream is pinged at half the timeout (a status update that requests a reply,
 * which PostgreSQL's walsender and the feed both answer with a keepalive) and declared dead at
 * the full timeout: the session ends and the relay reconnects. A black-holed peer keeps the TCP
 * connection open and {@code readPending} never blocks, so without this nothing would notice.
 *
 * <p>Threads: the socket's reader (the stream thread) records; the stream thread checks.
 */
public final class UpstreamLiveness {

    /** For sessions without an observed socket: never silent. */
    public static final UpstreamLiveness NONE = new UpstreamLiveness(Duration.ofDays(36_500));

    private static final Map<String, UpstreamLiveness> BY_KEY = new ConcurrentHashMap<>();

    private final long timeoutNanos;
    private volatile long lastHeard = System.nanoTime();
    private long lastPing = lastHeard - 1;

    public UpstreamLiveness(Duration timeout) {
        this.timeoutNanos = timeout.toNanos();
    }

    /** Registers this for the socket factory pgjdbc will instantiate with the returned key. */
    String register() {
        String key = UUID.randomUUID().toString();
        BY_KEY.put(key, this);
        return key;
    }

    static void unregister(String key) {
        BY_KEY.remove(key);
    }

    /** The liveness registered under {@code key}, or {@link #NONE} (never null). */
    static UpstreamLiveness forKey(String key) {
        return key == null ? NONE : BY_KEY.getOrDefault(key, NONE);
    }

    /** Bytes arrived from the upstream. */
    void heard() {
        lastHeard = System.nanoTime();
    }

    /**
     * The relay chose not to read (apply is behind): silence on the socket says nothing about
     * the upstream then, so the clock starts again when reading resumes.
     */
    public void notReading() {
        lastHeard = System.nanoTime();
    }

    /** True when the upstream has been silent for half the timeout and was not pinged since. */
    public boolean pingDue() {
        long now = System.nanoTime();
        if (now - lastHeard < timeoutNanos / 2 || lastPing - lastHeard > 0) {
            return false;
        }
        lastPing = now;
        return true;
    }

    /** Throws a connection failure (retried by the relay) once the upstream was silent for the whole timeout. */
    public void check() throws SQLException {
        long silent = System.nanoTime() - lastHeard;
        if (silent >= timeoutNanos) {
            throw new SQLException("the upstream sent nothing for " + Duration.ofNanos(silent).toMillis()
                    + " ms, not even a keepalive in answer to a ping (upstream.timeout "
                    + Duration.ofNanos(timeoutNanos).toMillis() + " ms): presumed dead", "08006");
        }
    }
}
