package io.pgrelay.config;

import io.pgrelay.config.RelayConfig.Endpoint;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;
import java.util.function.Function;

/**
 * The effective configuration as {@code key=value} pairs, in the reference's order, with every
 * default filled in and every password masked: what the relay logs at start, so an operator
 * sees what it actually runs with. Tolerates nulls, since tests elsewhere build partial configs
 * and their failure messages call {@code toString()}.
 */
final class ConfigDescription {
    private ConfigDescription() {
    }

    static String of(RelayConfig config) {
        StringJoiner line = new StringJoiner(", ");
        entries(config).forEach((key, value) -> line.add(key + "=" + value));
        return line.toString();
    }

    static Map<String, String> entries(RelayConfig c) {
        Map<String, String> e = new LinkedHashMap<>();
        e.put(ConfigKeys.RELAY_NAME.name(), text(c.relayName()));
        e.put(ConfigKeys.UPSTREAM_URL.name(), endpoint(c.upstream(), url -> Masking.maskUrl(url.url())));
        e.put(ConfigKeys.UPSTREAM_USER.name(), endpoint(c.upstream(), Endpoint::user));
        e.put(ConfigKeys.UPSTREAM_PASSWORD.name(), endpoint(c.upstream(), Endpoint::password));
        e.put(ConfigKeys.UPSTREAM_SLOT.name(), text(c.upstreamSlot()));
        e.put(ConfigKeys.UPSTREAM_PUBLICATIONS.name(), String.join(",", c.publications()));
        e.put(ConfigKeys.UPSTREAM_PROTO_VERSION.name(), Integer.toString(c.protoVersion()));
        e.put(ConfigKeys.UPSTREAM_STATUS_INTERVAL.name(), duration(c.statusInterval()));
        e.put(ConfigKeys.UPSTREAM_TIMEOUT.name(), duration(c.upstreamTimeout()));
        e.put(ConfigKeys.DOWNSTREAM_URL.name(), endpoint(c.downstream(), url -> Masking.maskUrl(url.url())));
        e.put(ConfigKeys.DOWNSTREAM_USER.name(), endpoint(c.downstream(), Endpoint::user));
        e.put(ConfigKeys.DOWNSTREAM_PASSWORD.name(), endpoint(c.downstream(), Endpoint::password));
        e.put(ConfigKeys.DOWNSTREAM_POOL_SIZE.name(), Integer.toString(c.downstreamPoolSize()));
        e.put(ConfigKeys.DOWNSTREAM_TIMEOUT.name(), duration(c.downstreamTimeout()));
        e.put(ConfigKeys.APPLY_CONFLICT.name(),
                c.conflictPolicy() == null ? "" : c.conflictPolicy().name().toLowerCase(Locale.ROOT));
        e.put(ConfigKeys.APPLY_BATCH_SIZE.name(), Integer.toString(c.applyBatchSize()));
        e.put(ConfigKeys.APPLY_GROUP_CHANGES.name(), Integer.toString(c.applyGroupChanges()));
        e.put(ConfigKeys.APPLY_ASYNC_COMMIT.name(), Boolean.toString(c.applyAsyncCommit()));
        e.put(ConfigKeys.APPLY_WORKERS.name(), Integer.toString(c.applyWorkers()));
        e.put(ConfigKeys.SYNC_INITIAL.name(), Boolean.toString(c.syncInitial()));
        RelayConfig.Sync sync = c.sync();
        e.put(ConfigKeys.SYNC_PARALLEL.name(), text(sync == null ? null : sync.parallel()));
        e.put(ConfigKeys.SYNC_TRUNCATE.name(), text(sync == null ? null : sync.truncate()));
        Endpoint source = sync == null ? null : sync.source();
        e.put(ConfigKeys.SYNC_SOURCE_URL.name(), source == null ? "" : Masking.maskUrl(source.url()));
        e.put(ConfigKeys.SYNC_SOURCE_USER.name(), source == null ? "" : source.user());
        e.put(ConfigKeys.SYNC_SOURCE_PASSWORD.name(), text(source == null ? null : source.password()));
        RelayConfig.Feed f = c.feed();
        e.put(ConfigKeys.FEED_LISTEN.name(), text(f == null ? null : f.listen()));
        e.put(ConfigKeys.FEED_USER.name(), text(f == null ? null : f.user()));
        e.put(ConfigKeys.FEED_PASSWORD.name(), text(f == null ? null : f.password()));
        e.put(ConfigKeys.FEED_AUTH.name(), text(f == null ? null : f.trustLoopback() ? "trust" : "scram"));
        e.put(ConfigKeys.FEED_TLS_CERT.name(), text(f == null ? null : f.tlsCert()));
        e.put(ConfigKeys.FEED_TLS_KEY.name(), text(f == null ? null : f.tlsKey()));
        e.put(ConfigKeys.FEED_MAX_RETAINED_BYTES.name(), text(f == null ? null : f.maxRetainedBytes()));
        e.put(ConfigKeys.FEED_MAX_CONNECTIONS.name(), text(f == null ? null : f.maxConnections()));
        e.put(ConfigKeys.FEED_TIMEOUT.name(), f == null ? "" : duration(f.timeout()));
        RelayConfig.Schema schema = c.schema();
        e.put(ConfigKeys.SCHEMA_CREATE.name(), text(schema == null ? null : schema.create()));
        e.put(ConfigKeys.SCHEMA_ADD_COLUMNS.name(), text(schema == null ? null : schema.addColumns()));
        e.put(ConfigKeys.DATA_DIR.name(), text(c.dataDir()));
        e.put(ConfigKeys.HTTP_LISTEN.name(), text(c.httpListen()));
        e.put(ConfigKeys.HEARTBEAT_ENABLED.name(), Boolean.toString(c.heartbeatEnabled()));
        e.put(ConfigKeys.HEARTBEAT_INTERVAL.name(), duration(c.heartbeatInterval()));
        e.put(ConfigKeys.RETRY_INITIAL_BACKOFF.name(), duration(c.retryInitialBackoff()));
        e.put(ConfigKeys.RETRY_MAX_BACKOFF.name(), duration(c.retryMaxBackoff()));
        e.put(ConfigKeys.SHUTDOWN_TIMEOUT.name(), duration(c.shutdownTimeout()));
        return e;
    }

    /** Secrets print as their mask through {@link Secret#toString()}. */
    private static String text(Object value) {
        return value == null ? "" : value.toString();
    }

    private static String duration(Duration value) {
        return value == null ? "" : Durations.format(value);
    }

    private static String endpoint(Endpoint endpoint, Function<Endpoint, Object> part) {
        return endpoint == null ? "" : text(part.apply(endpoint));
    }
}
