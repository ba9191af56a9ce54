package io.pgrelay.it;

import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.RelayConfig;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * An upstream and a downstream cluster, each with database {@value #DB}, and the relay
 * configuration that joins them. Tests create their schema on both sides, a publication
 * upstream, then run a relay.
 */
public final class ReplicationPair implements AutoCloseable {

    public static final String DB = "app";

    public final PgCluster upstream;
    public final PgCluster downstream;

    private ReplicationPair(PgCluster upstream, PgCluster downstream) {
        this.upstream = upstream;
        this.downstream = downstream;
    }

    public static ReplicationPair start(String name) throws SQLException {
        return start(name, java.util.Map.of());
    }

    /** A pair whose downstream runs with extra server settings (e.g. {@code wal_writer_delay}). */
    public static ReplicationPair start(String name, java.util.Map<String, String> downstreamSettings) throws SQLException {
        PgCluster up = PgCluster.builder(name + "-up").start();
        try {
            PgCluster.Builder downBuilder = PgCluster.builder(name + "-down");
            downstreamSettings.forEach(downBuilder::setting);
            PgCluster down = downBuilder.start();
            up.createDatabase(DB);
            down.createDatabase(DB);
            return new ReplicationPair(up, down);
        } catch (RuntimeException | SQLException e) {
            up.close();
            throw e;
        }
    }

    /** Runs the same DDL on both sides. */
    public void schema(String... ddl) throws SQLException {
        upstream.execute(DB, ddl);
        downstream.execute(DB, ddl);
    }

    public void upstream(String... sql) throws SQLException {
        upstream.execute(DB, sql);
    }

    public void downstream(String... sql) throws SQLException {
        downstream.execute(DB, sql);
    }

    /** Relay properties for this pair; tests add or override keys. */
    public Properties properties(String slot, String publication) {
        Properties p = new Properties();
        p.setProperty("upstream.url", upstream.jdbcUrl(DB));
        p.setProperty("upstream.user", upstream.user());
        p.setProperty("upstream.password", upstream.password());
        p.setProperty("upstream.slot", slot);
        p.setProperty("upstream.publications", publication);
        p.setProperty("upstream.status-interval", "1s");
        p.setProperty("downstream.url", downstream.jdbcUrl(DB));
        p.setProperty("downstream.user", downstream.user());
        p.setProperty("downstream.password", downstream.password());
        p.setProperty("retry.initial-backoff", "200ms");
        p.setProperty("retry.max-backoff", "2s");
        p.setProperty("shutdown.timeout", "20s");
        return p;
    }

    public RelayConfig config(Properties properties) {
        return ConfigLoader.fromProperties(properties, Map.of());
    }

    /** Rows of {@code select} on one side, as text. */
    public List<List<String>> upstreamRows(String select) throws SQLException {
        return upstream.query(DB, select);
    }

    public List<List<String>> downstreamRows(String select) throws SQLException {
        return downstream.query(DB, select);
    }

    @Override
    public void close() {
        try {
            downstream.close();
        } finally {
            upstream.close();
        }
    }
}
