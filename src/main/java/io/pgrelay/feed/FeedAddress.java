package io.pgrelay.feed;

import io.pgrelay.config.HostPort;
import io.pgrelay.config.RelayConfig;

/**
 * Where a local client reaches a relay's own feed, derived from that relay's configuration:
 * {@code feed.listen} (a wildcard address is reached through loopback) and the database the feed
 * serves (the upstream URL's).
 */
public record FeedAddress(String host, int port, String database) {

    /** @throws IllegalArgumentException when the configuration has no feed ({@code feed.listen} empty) */
    public static FeedAddress of(RelayConfig config) {
        if (config.feed() == null || !config.feed().enabled()) {
            throw new IllegalArgumentException("feed.listen is empty: the relay has no feed");
        }
        HostPort listen = HostPort.parse(config.feed().listen());
        return new FeedAddress(reachable(listen.host()), listen.port(), Feed.databaseOf(config.upstream().url()));
    }

    /** A listener bound to every interface answers on loopback too. */
    static String reachable(String host) {
        return switch (host) {
            case "0.0.0.0" -> "127.0.0.1";
            case "::", "0:0:0:0:0:0:0:0" -> "::1";
            default -> host;
        };
    }

    /** The JDBC URL (without options) of the feed. */
    public String jdbcUrl() {
        return "jdbc:postgresql://" + this + "/" + database;
    }

    /** {@code host:port}, an IPv6 host in brackets. */
    @Override
    public String toString() {
        return new HostPort(host, port).toString();
    }
}
