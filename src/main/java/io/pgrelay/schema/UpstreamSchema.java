package io.pgrelay.schema;

import io.pgrelay.config.RelayConfig;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import org.postgresql.PGProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the published tables' definitions from a PostgreSQL upstream, over an ordinary
 * (non-replication) connection with the upstream login. A parent relay's feed has no catalog
 * to read: for a child relay the initial sync bootstraps from the parent's downstream instead.
 */
public final class UpstreamSchema {

    private static final Logger log = LoggerFactory.getLogger(UpstreamSchema.class);

    private UpstreamSchema() {
    }

    /** The definitions to bootstrap from, or null when the upstream is a pgrelay feed. */
    public static SourceSchema read(RelayConfig config) throws SQLException {
        try (Connection connection = connect(config)) {
            return SchemaBootstrap.readPublished(connection, config.publications());
        } catch (SQLException e) {
            if (e.getMessage() != null && e.getMessage().contains("pgrelay feed")) {
                log.warn("schema.create: the upstream is a pgrelay feed, which has no catalog to read; with "
                        + "sync.initial=true the sync creates the tables from the parent relay's downstream, "
                        + "otherwise create them on the downstream");
                return null;
            }
            throw e;
        }
    }

    private static Connection connect(RelayConfig config) throws SQLException {
        Properties props = new Properties();
        PGProperty.USER.set(props, config.upstream().user());
        if (!config.upstream().password().isEmpty()) {
            PGProperty.PASSWORD.set(props, config.upstream().password().reveal());
        }
        PGProperty.APPLICATION_NAME.set(props, "pgrelay-schema:" + config.relayName());
        PGProperty.CONNECT_TIMEOUT.set(props, 10);
        PGProperty.READ_ONLY.set(props, true);
        return DriverManager.getConnection(config.upstream().url(), props);
    }
}
