package io.pgrelay.demo;

import io.pgrelay.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;

/**
 * End-to-end lag of each tier: how long ago the root committed the last transaction that tier
 * has applied. Every tier's checkpoint carries the root's commit time unchanged (one LSN space),
 * so one query on the tier's database answers it. While the root writes continuously, this is
 * the time a change takes from the root's commit to that tier's commit.
 */
final class LagProbe implements AutoCloseable {

    private static final String QUERY = "SELECT commit_time FROM pgrelay.checkpoint WHERE relay_name = ?";

    private final List<Connection> connections = new ArrayList<>();
    private final List<String> relayNames = new ArrayList<>();

    LagProbe(DemoClusters clusters) throws SQLException {
        try {
            for (int tier = 1; tier <= clusters.tiers(); tier++) {
                EmbeddedPostgres server = clusters.tier(tier);
                connections.add(server.connect(DemoSchema.DATABASE));
                relayNames.add(Tiers.relayName(tier));
            }
        } catch (SQLException e) {
            close();
            throw e;
        }
    }

    /** Per tier, in order: its lag now, or null before the tier applied anything. */
    List<Duration> lags() throws SQLException {
        List<Duration> lags = new ArrayList<>();
        for (int i = 0; i < connections.size(); i++) {
            lags.add(lag(connections.get(i), relayNames.get(i)));
        }
        return lags;
    }

    /** Measured against the time the answer arrived, so a later tier is never compared with an earlier instant. */
    private static Duration lag(Connection connection, String relayName) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(QUERY)) {
            query.setString(1, relayName);
            try (ResultSet rs = query.executeQuery()) {
                OffsetDateTime committed = rs.next() ? rs.getObject(1, OffsetDateTime.class) : null;
                if (committed == null) {
                    return null;
                }
                Duration lag = Duration.between(committed.toInstant(), Instant.now());
                return lag.isNegative() ? Duration.ZERO : lag;
            }
        }
    }

    @Override
    public void close() {
        for (Connection connection : connections) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // the server may be gone already
            }
        }
    }
}
