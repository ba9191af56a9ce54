package io.pgrelay.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The validated, immutable configuration of one relay. Built only by {@link ConfigLoader};
 * being a record of immutable values, it is sealed once the relay runs.
 *
 * <p>{@link #toString()} is safe to log: passwords are {@link Secret}s and URLs are masked.
 */
public record RelayConfig(
        String relayName,
        Endpoint upstream,
        String upstreamSlot,
        List<String> publications,
        int protoVersion,
        Duration statusInterval,
        Endpoint downstream,
        int downstreamPoolSize,
        ConflictPolicy conflictPolicy,
        int applyBatchSize,
        int applyGroupChanges,
        boolean applyAsyncCommit,
        int applyWorkers,
        boolean syncInitial,
        Sync sync,
        Feed feed,
        Path dataDir,
        String httpListen,
        boolean heartbeatEnabled,
        Duration heartbeatInterval,
        Duration retryInitialBackoff,
        Duration retryMaxBackoff,
        Duration shutdownTimeout,
        Duration upstreamTimeout,
        Duration downstreamTimeout,
        Schema schema) {

    public RelayConfig {
        publications = List.copyOf(publications);
    }

    /**
     * The downstream pool's size: {@code downstream.pool-size}, raised when parallel apply needs
     * more: a connection per worker, one for its dispatcher and one for the session's own
     * catalog reads and the feed's snapshot exports.
     */
    public int poolSizeNeeded() {
        return applyWorkers > 1 ? Math.max(downstreamPoolSize, applyWorkers + 2) : downstreamPoolSize;
    }

    /**
     * The relay's own replication endpoint. {@code listen} empty = no feed.
     *
     * @param trustLoopback accept loopback clients without a password ({@code feed.auth=trust})
     * @param tlsCert       PEM certificate chain; null = no TLS (set together with {@code tlsKey})
     * @param tlsKey        PEM PKCS#8 private key
     */
    public record Feed(String listen, String user, Secret password, boolean trustLoopback, Path tlsCert, Path tlsKey,
                       long maxRetainedBytes, int maxConnections, Duration timeout) {
        public boolean enabled() {
            return listen != null && !listen.isEmpty();
        }
    }

    /**
     * Schema bootstrap and drift ({@code schema.*}).
     *
     * @param create     create missing downstream objects of the published tables before streaming
     * @param addColumns add a column that a Relation message has and the downstream lacks, instead of stopping
     */
    public record Schema(boolean create, boolean addColumns) {
        public static final Schema OFF = new Schema(false, false);
    }

    /**
     * The initial copy's settings ({@code sync.*}); used only with {@code syncInitial}.
     *
     * @param source where the copy reads: null = the upstream itself (a PostgreSQL server);
     *               else a parent relay's downstream database
     */
    public record Sync(int parallel, boolean truncate, Endpoint source) {}

    /**
     * A PostgreSQL server (or a parent relay's feed) and the login to reach it. The loader
     * leaves no password in {@code url}: one written there is moved to {@code password}
     * (unless the password key is set, which wins), so the URL is safe to log as is.
     */
    public record Endpoint(String url, String user, Secret password) {
        @Override
        public String toString() {
            return Masking.maskUrl(url) + " as " + user;
        }
    }

    /** Every key's effective value, passwords masked: see {@link ConfigLoader#describe}. */
    @Override
    public String toString() {
        return "RelayConfig{" + ConfigDescription.of(this) + "}";
    }
}
