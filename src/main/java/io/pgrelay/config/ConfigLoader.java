package io.pgrelay.config;

import static io.pgrelay.config.ConfigKeys.APPLY_BATCH_SIZE;
import static io.pgrelay.config.ConfigKeys.APPLY_CONFLICT;
import static io.pgrelay.config.ConfigKeys.APPLY_GROUP_CHANGES;
import static io.pgrelay.config.ConfigKeys.DATA_DIR;
import static io.pgrelay.config.ConfigKeys.DOWNSTREAM_PASSWORD;
import static io.pgrelay.config.ConfigKeys.DOWNSTREAM_POOL_SIZE;
import static io.pgrelay.config.ConfigKeys.DOWNSTREAM_URL;
import static io.pgrelay.config.ConfigKeys.DOWNSTREAM_USER;
import static io.pgrelay.config.ConfigKeys.FEED_AUTH;
import static io.pgrelay.config.ConfigKeys.FEED_LISTEN;
import static io.pgrelay.config.ConfigKeys.FEED_MAX_CONNECTIONS;
import static io.pgrelay.config.ConfigKeys.FEED_MAX_RETAINED_BYTES;
import static io.pgrelay.config.ConfigKeys.FEED_TIMEOUT;
import static io.pgrelay.config.ConfigKeys.FEED_TLS_CERT;
import static io.pgrelay.config.ConfigKeys.FEED_TLS_KEY;
import static io.pgrelay.config.ConfigKeys.FEED_PASSWORD;
import static io.pgrelay.config.ConfigKeys.FEED_USER;
import static io.pgrelay.config.ConfigKeys.HTTP_LISTEN;
import static io.pgrelay.config.ConfigKeys.RELAY_NAME;
import static io.pgrelay.config.ConfigKeys.RETRY_INITIAL_BACKOFF;
import static io.pgrelay.config.ConfigKeys.RETRY_MAX_BACKOFF;
import static io.pgrelay.config.ConfigKeys.SHUTDOWN_TIMEOUT;
import static io.pgrelay.config.ConfigKeys.SYNC_INITIAL;
import static io.pgrelay.config.ConfigKeys.UPSTREAM_PASSWORD;
import static io.pgrelay.config.ConfigKeys.UPSTREAM_PROTO_VERSION;
import static io.pgrelay.config.ConfigKeys.UPSTREAM_PUBLICATIONS;
import static io.pgrelay.config.ConfigKeys.UPSTREAM_SLOT;
import static io.pgrelay.config.ConfigKeys.UPSTREAM_STATUS_INTERVAL;
import static io.pgrelay.config.ConfigKeys.UPSTREAM_URL;
import static io.pgrelay.config.ConfigKeys.UPSTREAM_USER;

import io.pgrelay.config.RelayConfig.Endpoint;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the one {@link RelayConfig} of a relay from its properties file and the environment.
 *
 * <p>Order of precedence, highest first: the {@code PGRELAY_*} environment variable, the file,
 * the key's default. Any key may instead be given as {@code KEY.file}, a path whose content is
 * the value. Every problem is collected and thrown together as a {@link ConfigException};
 * nothing is logged or thrown that contains a password.
 */
public final class ConfigLoader {
    private static final Logger LOG = LoggerFactory.getLogger(ConfigLoader.class);

    /** The proto versions pgoutput defines beyond 1; named apart from nonsense values. */
    private static final int NEWEST_PROTO_VERSION = 4;

    /** A loaded configuration and the soft findings (never secrets) to show the operator. */
    public record Result(RelayConfig config, List<String> warnings) {
        public Result {
            warnings = List.copyOf(warnings);
        }
    }

    private ConfigLoader() {
    }

    /**
     * Loads {@code file} overridden by {@code env} (pass {@code System.getenv()}); logs each
     * warning once at WARN.
     *
     * @param file the properties file; {@code null} (no {@code -c}) is reported as a problem
     * @throws ConfigException listing every problem, the missing or unreadable file included
     */
    public static RelayConfig load(Path file, Map<String, String> env) {
        return logWarnings(() -> loadWithWarnings(file, env));
    }

    /** As {@link #load}, from properties already in memory (tests, or a config given without a file). */
    public static RelayConfig fromProperties(Properties properties, Map<String, String> env) {
        return logWarnings(() -> fromPropertiesWithWarnings(properties, env));
    }

    /** As {@link #load} but logs nothing: the warnings are returned (and carried by a thrown exception). */
    public static Result loadWithWarnings(Path file, Map<String, String> env) {
        Problems problems = new Problems();
        if (file == null) {
            problems.add("no config file given: pass -c FILE or set PGRELAY_CONFIG");
            return build(new Properties(), "no file", env, problems, false);
        }
        Properties properties = ConfigFile.read(file, problems);
        boolean fileRead = properties != null;
        return build(fileRead ? properties : new Properties(), file.toString(), env, problems, fileRead);
    }

    public static Result fromPropertiesWithWarnings(Properties properties, Map<String, String> env) {
        return build(properties, "the configuration", env, new Problems(), true);
    }

    /** The effective configuration on one line, {@code key=value, …}, passwords masked: safe to log. */
    public static String describe(RelayConfig config) {
        return ConfigDescription.of(config);
    }

    private static RelayConfig logWarnings(Supplier<Result> loading) {
        try {
            Result result = loading.get();
            result.warnings().forEach(LOG::warn);
            return result.config();
        } catch (ConfigException e) {
            e.warnings().forEach(LOG::warn);
            throw e;
        }
    }

    private static Result build(Properties properties, String sourceName, Map<String, String> env,
                                Problems problems, boolean reportMissing) {
        RawSettings settings = RawSettings.collect(properties, sourceName, env, problems);
        ValueReader values = new ValueReader(settings, problems, reportMissing);

        String explicitName = values.raw(RELAY_NAME).isPresent() ? values.text(RELAY_NAME) : null;
        Endpoint upstream = endpoint(values, UPSTREAM_URL, UPSTREAM_USER, UPSTREAM_PASSWORD);
        String slot = values.slotName(UPSTREAM_SLOT);
        List<String> publications = values.names(UPSTREAM_PUBLICATIONS);
        Integer protoVersion = protoVersion(values, problems);
        Duration statusInterval = values.duration(UPSTREAM_STATUS_INTERVAL);
        Endpoint downstream = endpoint(values, DOWNSTREAM_URL, DOWNSTREAM_USER, DOWNSTREAM_PASSWORD);
        Integer poolSize = values.integer(DOWNSTREAM_POOL_SIZE);
        ConflictPolicy conflict = values.conflictPolicy(APPLY_CONFLICT);
        Integer batchSize = values.integer(APPLY_BATCH_SIZE);
        Integer groupChanges = values.integer(APPLY_GROUP_CHANGES);
        Boolean asyncCommit = values.bool(ConfigKeys.APPLY_ASYNC_COMMIT);
        Integer workers = applyWorkers(values);
        Boolean syncInitial = values.bool(SYNC_INITIAL);
        RelayConfig.Sync sync = sync(values, upstream, poolSize, problems);
        RelayConfig.Feed feed = feed(values, problems);
        Path dataDir = values.path(DATA_DIR);
        String httpListen = values.hostPort(HTTP_LISTEN);
        Boolean heartbeatEnabled = values.bool(ConfigKeys.HEARTBEAT_ENABLED);
        Duration heartbeatInterval = values.duration(ConfigKeys.HEARTBEAT_INTERVAL);
        Duration initialBackoff = values.duration(RETRY_INITIAL_BACKOFF);
        Duration maxBackoff = values.duration(RETRY_MAX_BACKOFF);
        Duration shutdownTimeout = values.duration(SHUTDOWN_TIMEOUT);
        Duration upstreamTimeout = values.duration(ConfigKeys.UPSTREAM_TIMEOUT);
        Duration downstreamTimeout = values.duration(ConfigKeys.DOWNSTREAM_TIMEOUT);
        checkBackoffOrder(values, initialBackoff, maxBackoff, problems);
        Boolean schemaCreate = values.bool(ConfigKeys.SCHEMA_CREATE);
        Boolean schemaAddColumns = values.bool(ConfigKeys.SCHEMA_ADD_COLUMNS);

        problems.throwIfAny();
        RelayConfig config = new RelayConfig(
                explicitName != null ? explicitName : slot,
                upstream, slot, publications, protoVersion, statusInterval,
                downstream, poolSize, conflict, batchSize, groupChanges, asyncCommit, workers, syncInitial, sync,
                feed, dataDir, httpListen, heartbeatEnabled, heartbeatInterval,
                initialBackoff, maxBackoff, shutdownTimeout, upstreamTimeout, downstreamTimeout,
                new RelayConfig.Schema(schemaCreate, schemaAddColumns));
        return new Result(config, problems.warnings());
    }

    /**
     * The URL keeps no password: one in it moves to the endpoint's {@link Secret}, unless the
     * password key is set, which wins. Then no code that logs a URL can leak it.
     */
    private static Endpoint endpoint(ValueReader values, KeySpec urlKey, KeySpec userKey, KeySpec passwordKey) {
        String url = values.jdbcUrl(urlKey);
        String user = values.text(userKey);
        Secret password = values.secret(passwordKey);
        if (url == null || user == null) {
            return null;
        }
        JdbcUrls.Split split = JdbcUrls.splitPassword(url);
        return new Endpoint(split.url(), user, password.isEmpty() ? split.password() : password);
    }

    /**
     * {@code apply.workers}: 0 picks half the relay's cores (a proxy for the downstream's, which
     * the relay cannot see), at most 4. The pool grows to fit (see {@link RelayConfig#poolSizeNeeded}).
     */
    private static Integer applyWorkers(ValueReader values) {
        Integer asked = values.integer(ConfigKeys.APPLY_WORKERS);
        if (asked == null || asked != 0) {
            return asked;
        }
        return Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors() / 2));
    }

    /** Versions 2..4 exist in PostgreSQL but pgrelay decodes only 1 so far: say so, not "out of range". */
    private static Integer protoVersion(ValueReader values, Problems problems) {
        var raw = values.raw(UPSTREAM_PROTO_VERSION);
        Long asked = raw.map(value -> ValueReader.wholeNumber(value.value())).orElse(null);
        if (asked != null && asked >= 2 && asked <= NEWEST_PROTO_VERSION) {
            problems.add(UPSTREAM_PROTO_VERSION.name() + "=" + asked + " is not supported yet: use 1"
                    + raw.get().origin().suffix());
            return null;
        }
        return values.integer(UPSTREAM_PROTO_VERSION);
    }

    /** The {@code sync.*} keys; {@code sync.source.*} is read only when its URL is set. */
    private static RelayConfig.Sync sync(ValueReader values, Endpoint upstream, Integer poolSize, Problems problems) {
        Integer parallel = values.integer(ConfigKeys.SYNC_PARALLEL);
        Boolean truncate = values.bool(ConfigKeys.SYNC_TRUNCATE);
        boolean hasSource = values.raw(ConfigKeys.SYNC_SOURCE_URL).map(raw -> !raw.value().isBlank()).orElse(false);
        Endpoint source = null;
        if (hasSource) {
            String url = values.jdbcUrl(ConfigKeys.SYNC_SOURCE_URL);
            String user = values.text(ConfigKeys.SYNC_SOURCE_USER);
            Secret password = values.secret(ConfigKeys.SYNC_SOURCE_PASSWORD);
            if (url != null && user != null && password != null) {
                if (user.isEmpty() && upstream != null) {
                    user = upstream.user();
                }
                JdbcUrls.Split split = JdbcUrls.splitPassword(url);
                source = new Endpoint(split.url(), user, password.isEmpty() ? split.password() : password);
            }
        }
        if (parallel != null && poolSize != null && parallel > poolSize) {
            problems.add(ConfigKeys.SYNC_PARALLEL.name() + "=" + parallel + " is more than downstream.pool-size="
                    + poolSize + ": each table copy holds a downstream connection; lower sync.parallel or raise "
                    + "downstream.pool-size" + suffix(values, ConfigKeys.SYNC_PARALLEL));
            return null;
        }
        if (parallel == null || truncate == null) {
            return null;
        }
        return new RelayConfig.Sync(parallel, truncate, source);
    }

    /** The feed's settings; when it listens, it needs a user and a way to authenticate. */
    private static RelayConfig.Feed feed(ValueReader values, Problems problems) {
        String listen = values.hostPort(FEED_LISTEN);
        String user = values.text(FEED_USER);
        Secret password = values.secret(FEED_PASSWORD);
        String auth = values.feedAuth(FEED_AUTH);
        Path cert = values.path(FEED_TLS_CERT);
        Path key = values.path(FEED_TLS_KEY);
        Long retained = values.size(FEED_MAX_RETAINED_BYTES);
        Integer connections = values.integer(FEED_MAX_CONNECTIONS);
        Duration timeout = values.duration(FEED_TIMEOUT);
        boolean enabled = listen != null && !listen.isEmpty();
        if (enabled && (user == null || user.isEmpty())) {
            problems.add(FEED_USER.name() + " is required when feed.listen is set: name the login feed clients use");
        }
        if (enabled && "scram".equals(auth) && password != null && password.isEmpty()) {
            problems.add(FEED_PASSWORD.name() + " is required when feed.listen is set with feed.auth=scram: "
                    + "set it (or feed.password.file), or use feed.auth=trust for loopback clients");
        }
        if (enabled && "trust".equals(auth) && password != null && password.isEmpty() && !loopbackOnly(listen)) {
            problems.add(FEED_AUTH.name() + "=trust without feed.password admits loopback clients only, but feed.listen="
                    + listen + " is reachable from other hosts: set feed.password (or feed.password.file), "
                    + "or listen on 127.0.0.1");
        }
        boolean noCert = cert == null || cert.toString().isEmpty();
        boolean noKey = key == null || key.toString().isEmpty();
        if (noCert != noKey) {
            problems.add("feed.tls.cert and feed.tls.key go together: set both for TLS, or neither");
        }
        if (retained == null || connections == null || timeout == null) {
            return null;
        }
        return new RelayConfig.Feed(listen == null ? "" : listen, user == null ? "" : user, password, "trust".equals(auth),
                noCert ? null : cert, noKey ? null : key, retained, connections, timeout);
    }

    /** Whether a listen address accepts loopback clients only (a host name other than localhost may not). */
    private static boolean loopbackOnly(String listen) {
        String host = HostPort.parse(listen).host();
        return host.equalsIgnoreCase("localhost") || host.equals("::1") || host.matches("127\\.\\d+\\.\\d+\\.\\d+");
    }

    private static void checkBackoffOrder(ValueReader values, Duration initial, Duration max, Problems problems) {
        if (initial != null && max != null && max.compareTo(initial) < 0) {
            problems.add(RETRY_MAX_BACKOFF.name() + ": " + Durations.format(max) + " is less than "
                    + RETRY_INITIAL_BACKOFF.name() + " (" + Durations.format(initial) + "): raise "
                    + RETRY_MAX_BACKOFF.name() + " or lower " + RETRY_INITIAL_BACKOFF.name()
                    + suffix(values, RETRY_MAX_BACKOFF));
        }
    }

    private static String suffix(ValueReader values, KeySpec spec) {
        return values.raw(spec).map(value -> value.origin().suffix()).orElse("");
    }
}
