package io.pgrelay.config;

import static io.pgrelay.config.KeySpec.duration;
import static io.pgrelay.config.KeySpec.integer;
import static io.pgrelay.config.KeySpec.optional;
import static io.pgrelay.config.KeySpec.required;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The single table of configuration keys. The loader validates against it, the "did you mean"
 * hints search it and the README's configuration reference is generated from {@link #all()}.
 * Adding a key means adding a row here and reading it in {@link ConfigLoader}.
 */
public final class ConfigKeys {
    public static final String ENV_PREFIX = "PGRELAY_";

    /** Variables the launcher and CLI own; they share the prefix but are not configuration keys. */
    public static final Set<String> NON_KEY_ENV = Set.of("PGRELAY_CONFIG", "PGRELAY_HOME", "PGRELAY_OPTS", "PGRELAY_JAR",
            "PGRELAY_LOG_LEVEL", "PGRELAY_JDBC_LOG_LEVEL", "PGRELAY_TEST_PG", "PGRELAY_TEST_PG_BINDIR", "PGRELAY_CAPTURE");

    public static final KeySpec RELAY_NAME = KeySpec.text("relay.name", "same as upstream.slot", 1, 63,
            "identity of this relay: names its checkpoint row in the downstream");

    public static final KeySpec UPSTREAM_URL = required("upstream.url", KeyType.JDBC_URL,
            "JDBC URL of the upstream: a PostgreSQL server or a parent relay's feed (jdbc:postgresql://host:port/db)");
    public static final KeySpec UPSTREAM_USER = required("upstream.user", KeyType.STRING,
            "upstream login, a role with the REPLICATION attribute");
    public static final KeySpec UPSTREAM_PASSWORD = optional("upstream.password", KeyType.SECRET, "",
            "password of upstream.user");
    public static final KeySpec UPSTREAM_SLOT = required("upstream.slot", KeyType.SLOT_NAME,
            "replication slot on the upstream; created when missing");
    public static final KeySpec UPSTREAM_PUBLICATIONS = required("upstream.publications", KeyType.NAME_LIST,
            "comma-separated publication names to replicate");
    public static final KeySpec UPSTREAM_PROTO_VERSION = new KeySpec("upstream.proto-version", KeyType.INT, "1",
            "pgoutput protocol version; only 1 is supported", false, new KeySpec.Range(1, 1));
    public static final KeySpec UPSTREAM_STATUS_INTERVAL = duration("upstream.status-interval", "10s", "100ms", "1h",
            "how often the relay reports its confirmed position to the upstream");
    public static final KeySpec UPSTREAM_TIMEOUT = duration("upstream.timeout", "60s", "1s", "1h",
            "an upstream that sends nothing this long (not even a keepalive) is presumed dead and reconnected (like wal_receiver_timeout)");

    public static final KeySpec DOWNSTREAM_URL = required("downstream.url", KeyType.JDBC_URL,
            "JDBC URL of the database the changes are applied into (jdbc:postgresql://host:port/db)");
    public static final KeySpec DOWNSTREAM_USER = required("downstream.user", KeyType.STRING,
            "downstream login");
    public static final KeySpec DOWNSTREAM_PASSWORD = optional("downstream.password", KeyType.SECRET, "",
            "password of downstream.user");
    public static final KeySpec DOWNSTREAM_POOL_SIZE = integer("downstream.pool-size", 4, 1, 64,
            "JDBC connection pool size for the downstream");
    public static final KeySpec DOWNSTREAM_TIMEOUT = duration("downstream.timeout", "60s", "1s", "1h",
            "a downstream that answers nothing this long (a statement, a lock wait, a commit) is presumed dead: the connection is dropped and the relay resumes from its checkpoint");

    public static final KeySpec APPLY_CONFLICT = optional("apply.conflict", KeyType.CONFLICT_POLICY, "error",
            "what to do when a change does not fit the downstream rows: error (stop), skip or upsert");
    public static final KeySpec APPLY_BATCH_SIZE = integer("apply.batch-size", 1000, 1, 100_000,
            "statements per JDBC batch");
    public static final KeySpec APPLY_GROUP_CHANGES = integer("apply.group-changes", 1_000, 1, 10_000_000,
            "most changes grouped in one downstream transaction; an upstream transaction is never split");
    public static final KeySpec APPLY_ASYNC_COMMIT = optional("apply.async-commit", KeyType.BOOLEAN, "true",
            "commit downstream with synchronous_commit=off; the upstream is still acknowledged only what the downstream has flushed");
    public static final KeySpec APPLY_WORKERS = integer("apply.workers", 0, 0, 32,
            "downstream connections that apply transactions of disjoint keys at once, committing in upstream order; 1 = serial, 0 = auto (half the relay's cores, at most 4); the pool grows to apply.workers + 2 connections when smaller");

    public static final KeySpec SYNC_INITIAL = optional("sync.initial", KeyType.BOOLEAN, "false",
            "copy the published tables' existing rows before streaming (see Initial sync); the downstream tables must exist, or set schema.create=true");
    public static final KeySpec SYNC_PARALLEL = integer("sync.parallel", 2, 1, 32,
            "tables copied at once during the initial sync; at most downstream.pool-size");
    public static final KeySpec SYNC_TRUNCATE = optional("sync.truncate", KeyType.BOOLEAN, "false",
            "empty downstream tables that already hold rows before the initial copy; false = such a table is an error");
    public static final KeySpec SYNC_SOURCE_URL = optional("sync.source.url", KeyType.JDBC_URL, "",
            "where the initial copy reads when the upstream is a parent relay's feed: that relay's downstream database; empty = the upstream");
    public static final KeySpec SYNC_SOURCE_USER = optional("sync.source.user", KeyType.STRING, "",
            "login on sync.source.url (needs SELECT on the tables and on pgrelay.sync_table); empty = upstream.user");
    public static final KeySpec SYNC_SOURCE_PASSWORD = optional("sync.source.password", KeyType.SECRET, "",
            "password of sync.source.user");

    public static final KeySpec SCHEMA_CREATE = optional("schema.create", KeyType.BOOLEAN, "false",
            "create missing downstream schemas, types, sequences and tables of the published tables from the upstream catalog before streaming");
    public static final KeySpec SCHEMA_ADD_COLUMNS = optional("schema.add-columns", KeyType.BOOLEAN, "false",
            "add a column the upstream sends but the downstream lacks (nullable) instead of stopping");

    public static final KeySpec FEED_LISTEN = optional("feed.listen", KeyType.HOST_PORT, "",
            "host:port where the feed serves child relays and other replication clients; empty = no feed");
    public static final KeySpec FEED_USER = optional("feed.user", KeyType.STRING, "",
            "login that clients of the feed use");
    public static final KeySpec FEED_PASSWORD = optional("feed.password", KeyType.SECRET, "",
            "password of feed.user (SCRAM-SHA-256)");
    public static final KeySpec FEED_AUTH = optional("feed.auth", KeyType.FEED_AUTH, "scram",
            "scram: clients log in with feed.user/feed.password; trust: loopback clients need no password (others still use scram)");
    public static final KeySpec FEED_TLS_CERT = optional("feed.tls.cert", KeyType.PATH, "",
            "PEM certificate (chain) for TLS on the feed; with feed.tls.key; empty = no TLS");
    public static final KeySpec FEED_TLS_KEY = optional("feed.tls.key", KeyType.PATH, "",
            "PEM private key (PKCS#8, unencrypted) of feed.tls.cert");
    public static final KeySpec FEED_MAX_RETAINED_BYTES = new KeySpec("feed.max-retained-bytes", KeyType.SIZE, "10GB",
            "most changelog kept for slow feed slots; a slot further behind is marked lost", false,
            new KeySpec.Range(1L << 20, 1L << 50));
    public static final KeySpec FEED_MAX_CONNECTIONS = integer("feed.max-connections", 32, 1, 1000,
            "most feed clients connected at once");
    public static final KeySpec FEED_TIMEOUT = duration("feed.timeout", "60s", "1s", "1h",
            "a streaming feed client silent this long is disconnected (like wal_sender_timeout)");

    public static final KeySpec DATA_DIR = optional("data.dir", KeyType.PATH, "data",
            "directory for the changelog and feed slots");
    public static final KeySpec HTTP_LISTEN = optional("http.listen", KeyType.HOST_PORT, "",
            "host:port for /metrics, /health and /ready; empty = no HTTP endpoint");

    public static final KeySpec HEARTBEAT_ENABLED = optional("heartbeat.enabled", KeyType.BOOLEAN, "true",
            "emit a heartbeat logical message on a PostgreSQL upstream so end-to-end lag stays true when idle");
    public static final KeySpec HEARTBEAT_INTERVAL = duration("heartbeat.interval", "10s", "100ms", "1h",
            "how often heartbeats are emitted and the upstream slot's retained WAL is sampled");

    public static final KeySpec RETRY_INITIAL_BACKOFF = duration("retry.initial-backoff", "1s", "10ms", "1h",
            "first wait before reconnecting after a failure; doubles on each further failure");
    public static final KeySpec RETRY_MAX_BACKOFF = duration("retry.max-backoff", "60s", "10ms", "24h",
            "longest wait between reconnection attempts; at least retry.initial-backoff");
    public static final KeySpec SHUTDOWN_TIMEOUT = duration("shutdown.timeout", "30s", "100ms", "1h",
            "how long a stop waits for in-flight work before giving up");

    private static final List<KeySpec> ALL = List.of(
            RELAY_NAME,
            UPSTREAM_URL, UPSTREAM_USER, UPSTREAM_PASSWORD, UPSTREAM_SLOT, UPSTREAM_PUBLICATIONS,
            UPSTREAM_PROTO_VERSION, UPSTREAM_STATUS_INTERVAL, UPSTREAM_TIMEOUT,
            DOWNSTREAM_URL, DOWNSTREAM_USER, DOWNSTREAM_PASSWORD, DOWNSTREAM_POOL_SIZE, DOWNSTREAM_TIMEOUT,
            APPLY_CONFLICT, APPLY_BATCH_SIZE, APPLY_GROUP_CHANGES, APPLY_ASYNC_COMMIT, APPLY_WORKERS,
            SYNC_INITIAL, SYNC_PARALLEL, SYNC_TRUNCATE, SYNC_SOURCE_URL, SYNC_SOURCE_USER, SYNC_SOURCE_PASSWORD,
            FEED_LISTEN, FEED_USER, FEED_PASSWORD, FEED_AUTH, FEED_TLS_CERT, FEED_TLS_KEY,
            FEED_MAX_RETAINED_BYTES, FEED_MAX_CONNECTIONS, FEED_TIMEOUT,
            SCHEMA_CREATE, SCHEMA_ADD_COLUMNS,
            DATA_DIR, HTTP_LISTEN, HEARTBEAT_ENABLED, HEARTBEAT_INTERVAL,
            RETRY_INITIAL_BACKOFF, RETRY_MAX_BACKOFF, SHUTDOWN_TIMEOUT);

    private static final Map<String, KeySpec> BY_NAME = index();

    private ConfigKeys() {
    }

    /** Every key, in the order of the reference (and of the effective-configuration log line). */
    public static List<KeySpec> all() {
        return ALL;
    }

    public static Optional<KeySpec> find(String name) {
        return Optional.ofNullable(BY_NAME.get(name));
    }

    private static Map<String, KeySpec> index() {
        Map<String, KeySpec> byName = new LinkedHashMap<>();
        for (KeySpec spec : ALL) {
            if (byName.put(spec.name(), spec) != null) {
                throw new IllegalStateException("duplicate key in the table: " + spec.name());
            }
        }
        return Map.copyOf(byName);
    }
}
