package io.pgrelay.cli;

import io.pgrelay.config.RelayConfig;
import io.pgrelay.feed.FeedAddress;
import io.pgrelay.feed.FeedSlots;
import io.pgrelay.feed.SlotListQuery;
import java.math.BigDecimal;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.Properties;
import org.postgresql.Driver;
import org.postgresql.PGProperty;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * The slots of a running relay, through its feed over the replication protocol, as any feed
 * client would: {@code CREATE_REPLICATION_SLOT}, {@code DROP_REPLICATION_SLOT}, and the
 * {@link SlotListQuery}. The feed owns the slots while it runs; the CLI never writes its files then.
 */
final class FeedSlotClient implements SlotStore {

    private static final int CONNECT_TIMEOUT_SECONDS = 10;
    private static final int SOCKET_TIMEOUT_SECONDS = 60;

    private final FeedAddress address;
    private final String dataDir;
    private final Connection connection;

    private FeedSlotClient(FeedAddress address, String dataDir, Connection connection) {
        this.address = address;
        this.dataDir = dataDir;
        this.connection = connection;
    }

    /** The driver properties of a connection to the relay's own feed. */
    static Properties connectionProperties(RelayConfig config) {
        RelayConfig.Feed feed = config.feed();
        Properties props = new Properties();
        PGProperty.USER.set(props, feed.user());
        if (!feed.password().isEmpty()) {
            PGProperty.PASSWORD.set(props, feed.password().reveal());
        }
        PGProperty.REPLICATION.set(props, "database");
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(props, "10");
        PGProperty.PREFER_QUERY_MODE.set(props, "simple");
        PGProperty.APPLICATION_NAME.set(props, "pgrelay slot");
        PGProperty.CONNECT_TIMEOUT.set(props, CONNECT_TIMEOUT_SECONDS);
        PGProperty.SOCKET_TIMEOUT.set(props, SOCKET_TIMEOUT_SECONDS);
        // With TLS on the feed, insist on it: the login must not go out in the clear.
        PGProperty.SSL_MODE.set(props, feed.tlsCert() != null ? "require" : "disable");
        return props;
    }

    /**
     * Connects to the feed of the relay that holds {@code dataDir}.
     *
     * @param dataDir the relay's data directory (absolute), whose lock the relay holds
     */
    static FeedSlotClient connect(RelayConfig config, String dataDir) throws SlotFailure {
        FeedAddress address = FeedAddress.of(config);
        Connection connection;
        try {
            connection = new Driver().connect(address.jdbcUrl(), connectionProperties(config));
        } catch (SQLException e) {
            throw connectFailure(address, config.feed().user(), dataDir, e);
        }
        if (connection == null) {
            throw SlotFailure.failure("cannot connect to the relay's feed: the driver does not accept " + address.jdbcUrl());
        }
        return new FeedSlotClient(address, dataDir, connection);
    }

    static SlotFailure connectFailure(FeedAddress address, String user, String dataDir, SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        if (state.startsWith("28")) {
            return SlotFailure.failure("the relay's feed at " + address + " refused the login of feed.user \"" + user
                    + "\": " + serverMessage(e) + ": check feed.user and feed.password (or feed.auth)");
        }
        Throwable network = networkCause(e);
        if (network != null || state.startsWith("08")) {
            String why = network == null ? serverMessage(e)
                    : network.getMessage() != null ? network.getMessage() : network.getClass().getSimpleName();
            return SlotFailure.failure("data.dir " + dataDir + " is locked by a running relay, but its feed at " + address
                    + " does not answer (" + why + "): if that relay is starting or stopping, try again;"
                    + " check that it runs with this configuration's feed.listen");
        }
        return SlotFailure.failure("cannot connect to the relay's feed at " + address + ": " + serverMessage(e)
                + sqlStateSuffix(e));
    }

    private static Throwable networkCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException || t instanceof SocketTimeoutException
                    || t instanceof UnknownHostException || t instanceof NoRouteToHostException) {
                return t;
            }
        }
        return null;
    }

    @Override
    public SlotListing list() throws SlotFailure {
        List<SlotRow> rows = new ArrayList<>();
        try (Statement statement = connection.createStatement();
             ResultSet result = statement.executeQuery(SlotListQuery.SQL)) {
            while (result.next()) {
                rows.add(row(result.getString(1), result.getString(2), result.getString(3), result.getString(4),
                        result.getString(5), result.getString(6)));
            }
        } catch (SQLException e) {
            if ("0A000".equals(e.getSQLState())) {
                throw SlotFailure.failure("the running relay's feed at " + address + " cannot list its slots (it is older"
                        + " than 'pgrelay slot list'): upgrade the relay, or stop it and list the slots from data.dir");
            }
            throw failed("listing the slots", e);
        }
        return new SlotListing(true, dataDir, address.toString(), null, rows);
    }

    /** One row of the {@link SlotListQuery} answer. */
    static SlotRow row(String name, String confirmed, String active, String walStatus, String temporary, String lag) {
        long lsn = confirmed == null ? 0 : LogSequenceNumber.valueOf(confirmed).asLong();
        long lagBytes = 0;
        if (lag != null) {
            try {
                lagBytes = Math.max(0, new BigDecimal(lag.trim()).longValue());
            } catch (NumberFormatException e) {
                lagBytes = 0;
            }
        }
        return new SlotRow(name, lsn, "lost".equalsIgnoreCase(walStatus), active == null ? null : bool(active),
                temporary != null && bool(temporary), lagBytes);
    }

    private static boolean bool(String text) {
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "t", "true", "on", "yes", "1" -> true;
            default -> false;
        };
    }

    @Override
    public OptionalLong create(String name) throws SlotFailure {
        requireValid(name);
        try (Statement statement = connection.createStatement();
             ResultSet result = statement.executeQuery("CREATE_REPLICATION_SLOT " + quote(name) + " LOGICAL pgoutput")) {
            if (!result.next()) {
                throw SlotFailure.failure("the relay's feed at " + address + " created feed slot \"" + name
                        + "\" but did not say where");
            }
            return OptionalLong.of(LogSequenceNumber.valueOf(result.getString("consistent_point")).asLong());
        } catch (SQLException e) {
            if ("42710".equals(e.getSQLState())) {
                return OptionalLong.empty();
            }
            throw failed("creating feed slot \"" + name + "\"", e);
        }
    }

    @Override
    public boolean drop(String name) throws SlotFailure {
        requireValid(name);
        try (Statement statement = connection.createStatement()) {
            statement.execute("DROP_REPLICATION_SLOT " + quote(name));
            return true;
        } catch (SQLException e) {
            if ("42704".equals(e.getSQLState())) {
                return false;
            }
            if ("55006".equals(e.getSQLState())) {
                throw SlotStores.active(name);
            }
            throw failed("dropping feed slot \"" + name + "\"", e);
        }
    }

    private static void requireValid(String name) {
        if (!FeedSlots.isValidName(name)) {
            throw new IllegalArgumentException("invalid slot name: " + name);
        }
    }

    /** A valid name (lower-case letters, digits, underscores) needs no escaping. */
    private static String quote(String name) {
        return "\"" + name + "\"";
    }

    private SlotFailure failed(String what, SQLException e) {
        if (networkCause(e) != null || (e.getSQLState() != null && e.getSQLState().startsWith("08"))) {
            return SlotFailure.failure("the connection to the relay's feed at " + address + " failed while " + what
                    + ": " + serverMessage(e));
        }
        return SlotFailure.failure("the relay's feed at " + address + " refused " + what + ": " + serverMessage(e)
                + sqlStateSuffix(e));
    }

    /** The server's own words when there are some, else the driver's. */
    static String serverMessage(SQLException e) {
        if (e instanceof PSQLException psql) {
            ServerErrorMessage server = psql.getServerErrorMessage();
            if (server != null && server.getMessage() != null) {
                return server.getMessage();
            }
        }
        return String.valueOf(e.getMessage()).lines().findFirst().orElse("");
    }

    private static String sqlStateSuffix(SQLException e) {
        return e.getSQLState() == null ? "" : " (SQLSTATE " + e.getSQLState() + ")";
    }

    @Override
    public void close() {
        try {
            connection.close();
        } catch (SQLException e) {
            // Leaving: the feed ends the session when the socket closes.
        }
    }
}
