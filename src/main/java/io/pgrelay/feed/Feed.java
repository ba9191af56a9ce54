package io.pgrelay.feed;

import io.pgrelay.changelog.Changelog;
import io.pgrelay.changelog.ChangelogOptions;
import io.pgrelay.config.HostPort;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.feed.wire.ScramServer;
import io.pgrelay.source.ReceivedLog;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything behind {@code feed.listen}: the locked data directory, the changelog, the feed
 * slots, the root's identity, and the server. Lives as long as the relay process; sessions of
 * the relay come and go and each gets a {@link #tap} to record its stream.
 */
public final class Feed implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Feed.class);
    private static final int MAX_MESSAGE_BYTES = 1 << 20;

    private final RelayConfig config;
    private final DataDirLock lock;
    private final Changelog changelog;
    private final FeedSlots slots;
    private final AtomicReference<SystemIdentity> identity = new AtomicReference<>();
    private final Path identityFile;
    private FeedServer server;
    private volatile ReceivedLog tap;

    private Feed(RelayConfig config, DataDirLock lock, Changelog changelog, FeedSlots slots) {
        this.config = config;
        this.lock = lock;
        this.changelog = changelog;
        this.slots = slots;
        this.identityFile = config.dataDir().resolve("identity.properties");
    }

    /** Opens the data directory and starts listening; fails if another process uses the directory. */
    public static Feed start(RelayConfig config) throws IOException {
        DataDirLock lock = DataDirLock.tryAcquire(config.dataDir());
        if (lock == null) {
            throw new DataDirInUseException("data.dir " + config.dataDir().toAbsolutePath()
                    + " is in use by another pgrelay process: stop it, or give this relay its own data.dir");
        }
        try {
            Changelog changelog = Changelog.open(config.dataDir().resolve("changelog"),
                    ChangelogOptions.defaults().withSegmentBytes(segmentBytes(config.feed().maxRetainedBytes())));
            Feed feed = new Feed(config, lock, changelog, FeedSlots.open(config.dataDir()));
            feed.loadIdentity();
            feed.listen();
            return feed;
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    private void listen() throws IOException {
        RelayConfig.Feed settings = config.feed();
        SSLContext tls = settings.tlsCert() == null ? null : TlsContexts.fromPem(settings.tlsCert(), settings.tlsKey());
        ScramServer.Credentials credentials = settings.password().isEmpty() ? null
                : ScramServer.Credentials.fromPassword(settings.password().reveal());
        FeedContext context = new FeedContext(settings.user(), credentials, settings.trustLoopback(), tls,
                databaseOf(config.upstream().url()), new LinkedHashSet<>(config.publications()), identity::get, slots,
                changelog, this::currentPosition, settings.timeout(), MAX_MESSAGE_BYTES,
                DownstreamSnapshot.exporter(config));
        HostPort address = HostPort.parse(settings.listen());
        server = FeedServer.start(context, new InetSocketAddress(address.host(), address.port()), settings.maxConnections());
    }

    /** The stream recorder for one relay session; {@code checkpoint} is that session's durable checkpoint. */
    public ReceivedLog tap(LongSupplier checkpoint) throws IOException {
        try {
            changelog.discardIncompleteTail();
            // A previous session may have ended with complete transactions appended but not yet
            // fsynced: make them durable before this session acknowledges anything past them.
            changelog.sync();
        } catch (IOException e) {
            throw new ChangelogFailedException("the changelog in " + config.dataDir().resolve("changelog")
                    + " failed (" + e.getMessage() + "): the relay stops so that a restart reopens and repairs it; "
                    + "check that data.dir has space and is writable", e);
        }
        ReceivedLog created = new ChangelogTap(changelog, new Retention(changelog, slots, checkpoint, config.feed().maxRetainedBytes()));
        tap = created;
        return created;
    }

    /**
     * The relay's current durable position: the changelog's end, or later when the upstream was
     * idle after it (nothing it sends later commits before). New slots start here.
     */
    public long currentPosition() {
        ReceivedLog current = tap;
        long end = changelog.endLsn();
        long limit = current == null ? 0 : current.durableLimit().asLong();
        return Long.compareUnsigned(limit, end) > 0 ? limit : end;
    }

    /** End of the last complete transaction in the changelog; 0 when empty. */
    public long changelogEnd() {
        return changelog.endLsn();
    }

    public FeedSlots slots() {
        return slots;
    }

    public long retainedBytes() {
        return changelog.retainedBytes();
    }

    public int segmentCount() {
        return changelog.segmentCount();
    }

    /** Clients connected to the feed, streaming or not. */
    public int clients() {
        return server.sessionCount();
    }

    public boolean isStreaming(String slot) {
        return server.isStreaming(slot);
    }

    public String listenAddress() {
        return config.feed().listen();
    }

    public int port() {
        return server.port();
    }

    /** Records the root's identity as the upstream reports it, for IDENTIFY_SYSTEM. */
    public void identity(SystemIdentity learned) throws IOException {
        SystemIdentity previous = identity.getAndSet(learned);
        if (previous != null && !previous.systemId().equals(learned.systemId())) {
            log.warn("the upstream reports system identifier {} but the changelog was written for {}: "
                    + "was upstream.url pointed at another server?", learned.systemId(), previous.systemId());
        }
        if (!learned.equals(previous)) {
            Properties properties = new Properties();
            properties.setProperty("systemid", learned.systemId());
            properties.setProperty("timeline", String.valueOf(learned.timeline()));
            try (Writer out = Files.newBufferedWriter(identityFile, StandardCharsets.UTF_8)) {
                properties.store(out, "the root's identity, as the upstream reported it");
            }
        }
    }

    private void loadIdentity() throws IOException {
        if (Files.exists(identityFile)) {
            Properties properties = new Properties();
            try (Reader in = Files.newBufferedReader(identityFile, StandardCharsets.UTF_8)) {
                properties.load(in);
            }
            identity.set(new SystemIdentity(properties.getProperty("systemid"),
                    Integer.parseInt(properties.getProperty("timeline", "1"))));
        }
    }

    /**
     * Retention releases whole segments: an eighth of the bound (1 to 64 MiB) keeps what is held
     * beyond it small, without a file per few transactions.
     */
    static long segmentBytes(long maxRetainedBytes) {
        return Math.max(1L << 20, Math.min(64L << 20, maxRetainedBytes / 8));
    }

    /** The database part of a JDBC URL: clients of the feed connect to the same name. */
    static String databaseOf(String jdbcUrl) {
        String rest = jdbcUrl.substring(jdbcUrl.indexOf("//") + 2);
        int slash = rest.indexOf('/');
        if (slash < 0) {
            return "";
        }
        String database = rest.substring(slash + 1);
        int query = database.indexOf('?');
        return query < 0 ? database : database.substring(0, query);
    }

    @Override
    public void close() throws IOException {
        try {
            if (server != null) {
                server.close();
            }
            changelog.close();
        } finally {
            lock.close();
        }
    }
}
