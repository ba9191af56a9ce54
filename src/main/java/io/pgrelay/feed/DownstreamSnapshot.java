package io.pgrelay.feed;

import io.pgrelay.apply.CopyFilter;
import io.pgrelay.checkpoint.Checkpoint;
import io.pgrelay.checkpoint.CheckpointStore;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.sync.ResumedTables;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import org.postgresql.PGProperty;

/**
 * A snapshot of the relay's own downstream, exported for a child relay's initial copy, and the
 * checkpoint as that snapshot sees it. The checkpoint commits with the changes it covers
 * (invariant 2), so the snapshot holds exactly the transactions up to the checkpoint: a feed
 * slot that starts there meets the copy without a gap or an overlap, and apply need not pause.
 *
 * <p>The snapshot lives as long as this object's transaction: a feed session keeps it until the
 * client's next command, as a walsender does.
 */
final class DownstreamSnapshot implements AutoCloseable {

    /** Exports snapshots of one downstream; null in a feed without a downstream (tests). */
    @FunctionalInterface
    interface Exporter {
        DownstreamSnapshot export() throws SQLException;
    }

    private final Connection connection;
    private final String name;
    private final Checkpoint checkpoint;
    private final boolean copiesAhead;

    private DownstreamSnapshot(Connection connection, String name, Checkpoint checkpoint, boolean copiesAhead) {
        this.copiesAhead = copiesAhead;
        this.connection = connection;
        this.name = name;
        this.checkpoint = checkpoint;
    }

    static Exporter exporter(RelayConfig config) {
        return () -> export(config);
    }

    static DownstreamSnapshot export(RelayConfig config) throws SQLException {
        Properties props = new Properties();
        PGProperty.USER.set(props, config.downstream().user());
        if (!config.downstream().password().isEmpty()) {
            PGProperty.PASSWORD.set(props, config.downstream().password().reveal());
        }
        PGProperty.APPLICATION_NAME.set(props, "pgrelay-feed-snapshot:" + config.relayName());
        PGProperty.CONNECT_TIMEOUT.set(props, 10);
        Connection connection = DriverManager.getConnection(config.downstream().url(), props);
        try {
            connection.setAutoCommit(false);
            connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            connection.setReadOnly(true);
            String name;
            try (Statement statement = connection.createStatement();
                 ResultSet rs = statement.executeQuery("SELECT pg_catalog.pg_export_snapshot()")) {
                rs.next();
                name = rs.getString(1);
            }
            // Read in the same transaction, hence the same snapshot, as the rows the child copies.
            Checkpoint checkpoint = new CheckpointStore(config.relayName(), config.upstreamSlot()).read(connection);
            // A resumed initial copy holds some tables at a later position than the checkpoint
            // until apply passes it: such a snapshot is not the state at the checkpoint.
            boolean copiesAhead = ResumedTables.filter(connection, config.relayName(), checkpoint) != CopyFilter.NONE;
            return new DownstreamSnapshot(connection, name, checkpoint, copiesAhead);
        } catch (SQLException | RuntimeException e) {
            connection.close();
            throw e;
        }
    }

    String name() {
        return name;
    }

    Checkpoint checkpoint() {
        return checkpoint;
    }

    /** True while tables of a resumed initial copy are ahead of the checkpoint (see ResumedTables). */
    boolean copiesAhead() {
        return copiesAhead;
    }

    @Override
    public void close() {
        try {
            connection.rollback();
            connection.close();
        } catch (SQLException ignored) {
            // Closing the connection ends the transaction and the snapshot either way.
        }
    }
}
