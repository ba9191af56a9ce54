package io.pgrelay.sync;

import io.pgrelay.config.RelayConfig;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.postgresql.PGConnection;

/**
 * Keeps {@code pgrelay.relayed_table} in the downstream up to date: the tables this relay's
 * publications hold, so that a child relay can copy them from this downstream. Refreshed at
 * each session start from a PostgreSQL upstream; below a feed the list is the one the initial
 * sync copied.
 */
public final class RelayedTables {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(RelayedTables.class);
    private static final String INSUFFICIENT_PRIVILEGE = "42501";

    private RelayedTables() {}

    /** True when {@code replication} is connected to a pgrelay feed rather than to PostgreSQL. */
    static boolean isFeed(Connection replication) throws SQLException {
        String version = replication.unwrap(PGConnection.class).getParameterStatus("server_version");
        return version != null && version.contains("pgrelay");
    }

    /** Reads the publications' tables on a PostgreSQL upstream and records them downstream; a feed is left alone. */
    public static void refresh(Connection replication, DataSource downstream, RelayConfig config) throws SQLException {
        if (isFeed(replication)) {
            return;
        }
        List<String[]> tables = new ArrayList<>();
        try (Statement statement = replication.createStatement();
             ResultSet rs = statement.executeQuery("SELECT DISTINCT schemaname, tablename FROM pg_catalog.pg_publication_tables"
                     + " WHERE pubname IN (" + literals(config.publications()) + ")")) {
            while (rs.next()) {
                tables.add(new String[] {rs.getString(1), rs.getString(2)});
            }
        }
        SyncState state = new SyncState(config.relayName());
        try (Connection down = downstream.getConnection()) {
            try {
                state.ensureTables(down);
            } catch (SQLException e) {
                if (!INSUFFICIENT_PRIVILEGE.equals(e.getSQLState())) {
                    throw e;
                }
                // Relaying does not need the list; only children copying from here do.
                log.warn("cannot create pgrelay.relayed_table in the downstream ({}): child relays cannot copy their "
                        + "initial sync from this downstream until it exists", e.getMessage());
                return;
            }
            down.setAutoCommit(false);
            try {
                state.recordRelayed(down, tables);
                down.commit();
            } catch (SQLException | RuntimeException e) {
                down.rollback();
                throw e;
            } finally {
                down.setAutoCommit(true);
            }
        }
    }

    /** The replication connection runs simple queries only: names go in as quoted literals. */
    private static String literals(List<String> names) {
        List<String> quoted = new ArrayList<>();
        for (String name : names) {
            quoted.add("'" + name.replace("'", "''") + "'");
        }
        return String.join(", ", quoted);
    }
}
