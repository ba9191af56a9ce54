package io.pgrelay.metrics;

import io.pgrelay.config.RelayConfig;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Properties;
import org.postgresql.PGProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Talks SQL to a PostgreSQL upstream on its own connection and thread ({@code pgrelay-monitor}):
 * emits a heartbeat (a transactional logical message, prefix {@code pgrelay}) so that end-to-end
 * lag stays true on idle databases at every tier below, and samples the slot's retained WAL.
 * A parent relay's feed runs no SQL: against one, the monitor stays quiet (the root relay's
 * heartbeats arrive through the chain).
 */
public final class UpstreamMonitor implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(UpstreamMonitor.class);
    private static final String HEARTBEAT = "SELECT pg_logical_emit_message(true, 'pgrelay', ?)";
    private static final String SLOT = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), wal_status "
            + "FROM pg_catalog.pg_replication_slots WHERE slot_name = ?";

    private final RelayConfig config;
    private final RelayMetrics metrics;
    private final boolean heartbeats;
    private final Duration interval;
    private final Thread thread;
    private volatile boolean closed;
    private Connection connection;
    private String lastProblem;
    private boolean upstreamIsFeed;

    public UpstreamMonitor(RelayConfig config, RelayMetrics metrics, boolean heartbeats, Duration interval) {
        this.config = config;
        this.metrics = metrics;
        this.heartbeats = heartbeats;
        this.interval = interval;
        this.thread = new Thread(this::loop, "pgrelay-monitor");
        this.thread.setDaemon(true);
    }

    public UpstreamMonitor start() {
        thread.start();
        return this;
    }

    private void loop() {
        while (!closed) {
            try {
                sample();
                lastProblem = null;
            } catch (SQLException e) {
                closeConnection();
                problem(e);
            }
            try {
                // A feed will not turn into PostgreSQL soon: look again rarely.
                Thread.sleep(upstreamIsFeed ? interval.toMillis() * 60 : interval.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
        closeConnection();
    }

    private void sample() throws SQLException {
        if (connection == null) {
            connection = connect();
        }
        if (heartbeats) {
            try (PreparedStatement statement = connection.prepareStatement(HEARTBEAT)) {
                statement.setString(1, "relay=" + config.relayName() + " at=" + Instant.now());
                statement.execute();
            }
        }
        try (PreparedStatement statement = connection.prepareStatement(SLOT)) {
            statement.setString(1, config.upstreamSlot());
            try (ResultSet rs = statement.executeQuery()) {
                metrics.upstreamSlot(rs.next() ? new UpstreamSlotState(rs.getDouble(1), rs.getString(2)) : UpstreamSlotState.UNKNOWN);
            }
        }
    }

    private Connection connect() throws SQLException {
        Properties props = new Properties();
        PGProperty.USER.set(props, config.upstream().user());
        if (!config.upstream().password().isEmpty()) {
            PGProperty.PASSWORD.set(props, config.upstream().password().reveal());
        }
        PGProperty.APPLICATION_NAME.set(props, "pgrelay-monitor:" + config.relayName());
        PGProperty.CONNECT_TIMEOUT.set(props, 10);
        PGProperty.SOCKET_TIMEOUT.set(props, 30);
        Connection opened = DriverManager.getConnection(config.upstream().url(), props);
        opened.setAutoCommit(true);
        return opened;
    }

    /** One line per kind of problem, not one per sample. */
    private void problem(SQLException e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
        if (message.equals(lastProblem)) {
            return;
        }
        lastProblem = message;
        upstreamIsFeed = message.contains("pgrelay feed");
        if (upstreamIsFeed) {
            log.info("upstream is a pgrelay feed: heartbeats come from the relay that reads the root");
        } else {
            log.warn("upstream monitor (heartbeats{}, slot statistics): {} (SQLSTATE {})",
                    heartbeats ? "" : " off", message, e.getSQLState());
        }
    }

    private void closeConnection() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // Reconnected on the next sample.
            }
            connection = null;
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
    }
}
