package io.pgrelay.relay;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.pgrelay.config.RelayConfig;
import java.time.Duration;

/** The HikariCP pool of downstream connections. */
final class DownstreamPool {
    private DownstreamPool() {}

    static HikariDataSource create(RelayConfig config, RelayListener events) {
        HikariConfig hikari = new HikariConfig();
        hikari.setPoolName("pgrelay-downstream");
        hikari.setJdbcUrl(config.downstream().url());
        hikari.setUsername(config.downstream().user());
        if (!config.downstream().password().isEmpty()) {
            hikari.setPassword(config.downstream().password().reveal());
        }
        hikari.setMaximumPoolSize(config.poolSizeNeeded());
        hikari.setMinimumIdle(1);
        // The relay retries sessions itself; a downstream that is down at start is not fatal.
        hikari.setInitializationFailTimeout(-1);
        hikari.setConnectionTimeout(Duration.ofSeconds(10).toMillis());
        hikari.addDataSourceProperty("ApplicationName", "pgrelay:" + config.relayName());
        hikari.addDataSourceProperty("tcpKeepAlive", "true");
        hikari.addDataSourceProperty("connectTimeout", "10");
        // Every read is bounded: a black-holed downstream (or a lock or commit that waits longer)
        // breaks the connection, the session ends and the next one resumes from the checkpoint.
        long timeoutSeconds = Math.max(1, (config.downstreamTimeout().toMillis() + 999) / 1000);
        hikari.addDataSourceProperty("socketTimeout", Long.toString(timeoutSeconds));
        // The other half: a server backend whose relay connection vanished (a partition, a lost
        // RST) would sit idle in its transaction holding row locks until the kernel's keepalive
        // (2 h by default) and block every later session. Server-side keepalives reap it within
        // about twice downstream.timeout. No effect over Unix sockets.
        hikari.setConnectionInitSql("SET tcp_keepalives_idle = " + timeoutSeconds
                + "; SET tcp_keepalives_interval = " + Math.max(1, timeoutSeconds / 3)
                + "; SET tcp_keepalives_count = 3");
        events.poolCreated(hikari);
        return new HikariDataSource(hikari);
    }
}
