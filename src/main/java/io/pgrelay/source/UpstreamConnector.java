package io.pgrelay.source;

import io.pgrelay.sql.Identifiers;
import io.pgrelay.config.RelayConfig;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens the upstream replication connection, checks the publications, creates the slot when
 * it is missing, and starts a pgoutput stream. Works the same against PostgreSQL and against a
 * parent relay's feed: only the replication protocol and a catalog query are used.
 */
public final class UpstreamConnector {

    private static final Logger log = LoggerFactory.getLogger(UpstreamConnector.class);
    private static final String DUPLICATE_OBJECT = "42710";
    /** Creating a slot waits for transactions running upstream: allow it far longer than one exchange. */
    private static final int SLOT_CREATION_TIMEOUTS = 10;

    private final RelayConfig config;
    private UpstreamLiveness liveness = UpstreamLiveness.NONE;

    public UpstreamConnector(RelayConfig config) {
        this.config = config;
    }

    /**
     * A logical replication connection ({@code replication=database}). Every read on it is
     * bounded by {@code upstream.timeout}, login included, and its socket tells
     * {@link #liveness()} when the upstream last sent anything.
     */
    public Connection connect() throws SQLException {
        Properties props = new Properties();
        PGProperty.USER.set(props, config.upstream().user());
        if (!config.upstream().password().isEmpty()) {
            PGProperty.PASSWORD.set(props, config.upstream().password().reveal());
        }
        PGProperty.REPLICATION.set(props, "database");
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(props, "10");
        PGProperty.PREFER_QUERY_MODE.set(props, "simple");
        PGProperty.APPLICATION_NAME.set(props, "pgrelay:" + config.relayName());
        PGProperty.TCP_KEEP_ALIVE.set(props, true);
        PGProperty.CONNECT_TIMEOUT.set(props, 10);
        PGProperty.SOCKET_TIMEOUT.set(props, timeoutSeconds());
        UpstreamLiveness observed = new UpstreamLiveness(config.upstreamTimeout());
        String key = observed.register();
        PGProperty.SOCKET_FACTORY.set(props, LivenessSocketFactory.class.getName());
        PGProperty.SOCKET_FACTORY_ARG.set(props, key);
        try {
            Connection connection = DriverManager.getConnection(config.upstream().url(), props);
            liveness = observed;
            return connection;
        } finally {
            UpstreamLiveness.unregister(key);
        }
    }

    /** When the upstream of the last {@link #connect()} last sent anything. */
    public UpstreamLiveness liveness() {
        return liveness;
    }

    private int timeoutSeconds() {
        return (int) Math.max(1, (config.upstreamTimeout().toMillis() + 999) / 1000);
    }

    /** The upstream's IDENTIFY_SYSTEM: the root's system identifier and timeline (a feed passes them on). */
    public String[] identifySystem(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("IDENTIFY_SYSTEM")) {
            if (!rs.next()) {
                throw new SQLException("IDENTIFY_SYSTEM returned no row", "08P01");
            }
            return new String[] {rs.getString(1), rs.getString(2)};
        }
    }

    /** Fails with a clear message when a configured publication does not exist upstream. */
    public void checkPublications(Connection connection) throws SQLException {
        Set<String> existing = new HashSet<>();
        try (Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("SELECT pubname FROM pg_catalog.pg_publication")) {
            while (rs.next()) {
                existing.add(rs.getString(1));
            }
        }
        List<String> missing = new ArrayList<>(config.publications());
        missing.removeAll(existing);
        if (!missing.isEmpty()) {
            throw new SQLException("publication " + String.join(", ", missing) + " does not exist on the upstream: "
                    + "create it there (CREATE PUBLICATION ... FOR TABLE ...) or fix upstream.publications", "42704");
        }
    }

    /** Creates the logical slot with pgoutput unless it exists. */
    public void ensureSlot(Connection connection) throws SQLException {
        connection.setNetworkTimeout(Runnable::run, (int) Math.min(Integer.MAX_VALUE,
                config.upstreamTimeout().toMillis() * SLOT_CREATION_TIMEOUTS));
        try {
            connection.unwrap(PGConnection.class).getReplicationAPI()
                    .createReplicationSlot()
                    .logical()
                    .withSlotName(config.upstreamSlot())
                    .withOutputPlugin("pgoutput")
                    .make();
            log.info("created replication slot {} on the upstream", config.upstreamSlot());
        } catch (SQLException e) {
            if (!DUPLICATE_OBJECT.equals(e.getSQLState())) {
                throw e;
            }
        }
    }

    /**
     * Starts streaming from {@code start}. PostgreSQL starts at the slot's confirmed position
     * when that is later; transactions the checkpoint covers are skipped by apply.
     */
    public PGReplicationStream start(Connection connection, LogSequenceNumber start) throws SQLException {
        // Streaming reads never block (readPending: silence is caught by UpstreamLiveness); this
        // bounds the blocking ones, such as the rest of a message cut off mid-way, or the end of
        // the copy when a session closes over a silent network. pgjdbc's readPending swallows a
        // read timeout (returns null, the cut message lost); by then the upstream has been
        // silent for at least this long, so UpstreamLiveness ends the session before the next read.
        connection.setNetworkTimeout(Runnable::run, (int) Math.min(Integer.MAX_VALUE, config.upstreamTimeout().toMillis()));
        return connection.unwrap(PGConnection.class).getReplicationAPI()
                .replicationStream()
                .logical()
                .withSlotName(config.upstreamSlot())
                .withStartPosition(start)
                .withSlotOption("proto_version", String.valueOf(config.protoVersion()))
                .withSlotOption("publication_names", publicationNames())
                .withSlotOption("messages", String.valueOf(receivesMessages(connection)))
                .withStatusInterval((int) config.statusInterval().toMillis(), TimeUnit.MILLISECONDS)
                // pgjdbc would otherwise move its flushed position up to a keepalive's WAL end
                // once everything received is acknowledged: flush must be the checkpoint only.
                .withAutomaticFlush(false)
                .start();
    }

    /**
     * Logical messages carry heartbeats down a chain; pgoutput knows the option from
     * PostgreSQL 14 on (a pgrelay feed reports 15), older servers would reject it.
     */
    private static boolean receivesMessages(Connection connection) throws SQLException {
        return connection.unwrap(org.postgresql.core.BaseConnection.class).haveMinimumServerVersion(
                org.postgresql.core.ServerVersion.v14);
    }

    /** pgoutput splits the list like identifiers: quote each so case and commas survive. */
    private String publicationNames() {
        List<String> quoted = new ArrayList<>();
        for (String name : config.publications()) {
            quoted.add(Identifiers.quote(name));
        }
        return String.join(",", quoted);
    }
}
