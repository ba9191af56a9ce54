package io.pgrelay.check;

import io.pgrelay.config.Masking;
import io.pgrelay.config.RelayConfig.Endpoint;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import java.util.Set;
import org.postgresql.PGProperty;

/**
 * Connections for the preflight, each bounded in time (a dead host is a FAIL row after at most
 * {@value #CONNECT_TIMEOUT_SECONDS} s, never a hang), and the one-line verdict on a connection
 * that could not be opened.
 */
final class CheckConnections {

    static final int CONNECT_TIMEOUT_SECONDS = 10;
    static final int SOCKET_TIMEOUT_SECONDS = 30;
    /** Waiting can fix these: connection refused or timed out, too many connections, server starting or stopping. */
    private static final Set<String> RETRIABLE_STATES = Set.of("08001", "08004", "08006", "53300", "57P01", "57P02", "57P03");

    private CheckConnections() {}

    /** An ordinary SQL session. */
    static Connection sql(Endpoint endpoint, String applicationName) throws SQLException {
        return DriverManager.getConnection(endpoint.url(), properties(endpoint, applicationName));
    }

    /** A logical replication session ({@code replication=database}), as the relay opens it. */
    static Connection replication(Endpoint endpoint, String applicationName) throws SQLException {
        Properties props = properties(endpoint, applicationName);
        PGProperty.REPLICATION.set(props, "database");
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(props, "10");
        PGProperty.PREFER_QUERY_MODE.set(props, "simple");
        return DriverManager.getConnection(endpoint.url(), props);
    }

    private static Properties properties(Endpoint endpoint, String applicationName) {
        Properties props = new Properties();
        PGProperty.USER.set(props, endpoint.user());
        if (!endpoint.password().isEmpty()) {
            PGProperty.PASSWORD.set(props, endpoint.password().reveal());
        }
        PGProperty.APPLICATION_NAME.set(props, applicationName);
        PGProperty.CONNECT_TIMEOUT.set(props, CONNECT_TIMEOUT_SECONDS);
        PGProperty.LOGIN_TIMEOUT.set(props, CONNECT_TIMEOUT_SECONDS);
        PGProperty.SOCKET_TIMEOUT.set(props, SOCKET_TIMEOUT_SECONDS);
        return props;
    }

    /**
     * The row for a connection that failed: {@code side} is {@code upstream} or
     * {@code downstream}, the key prefix the fix points at.
     */
    static Check failed(String name, String side, Endpoint endpoint, SQLException e) {
        String state = e.getSQLState();
        String detail = Masking.maskUrl(endpoint.url()) + " as " + endpoint.user() + ": " + firstLine(e)
                + (state == null ? "" : " (SQLSTATE " + state + ")");
        if (state != null && RETRIABLE_STATES.contains(state)) {
            return Check.unavailable(name, detail, "start the " + side + " server or fix host and port in " + side
                    + ".url; check firewalls (" + CONNECT_TIMEOUT_SECONDS + " s connect timeout)");
        }
        String fix;
        if (state != null && state.startsWith("28")) {
            fix = "check " + side + ".user and " + side + ".password, and pg_hba.conf on the " + side + " server";
        } else if ("3D000".equals(state)) {
            fix = "check the database name in " + side + ".url";
        } else {
            fix = "check " + side + ".url, " + side + ".user and " + side + ".password";
        }
        return Check.fail(name, detail, fix);
    }

    /**
     * The row for a query that failed after the connection was opened: a lost connection is
     * retriable like an unreachable end, anything else (such as a missing right) is a FAIL.
     */
    static Check queryFailed(String name, String side, SQLException e, String fix) {
        String detail = "reading the " + side + "'s catalog failed: " + firstLine(e) + " (SQLSTATE " + e.getSQLState() + ")";
        return String.valueOf(e.getSQLState()).startsWith("08")
                ? Check.unavailable(name, detail, "check the " + side + " server and the network, then try again")
                : Check.fail(name, detail, fix);
    }

    static String firstLine(Throwable e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return Masking.maskUrl(message.lines().findFirst().orElse(message).strip());
    }
}
