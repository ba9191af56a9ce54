package io.pgrelay.relay;

import io.pgrelay.apply.ApplyListener;

/**
 * Apply events plus the supervisor's: failures and reconnects. Defaults do nothing, so the core
 * needs no metrics library; a listener passed to {@link Relay} that implements this interface
 * receives both kinds. Called from the relay's threads: be quick, never block.
 */
public interface RelayListener extends ApplyListener, io.pgrelay.sync.SyncListener {

    /**
     * A session ended with a failure.
     *
     * @param side       upstream, downstream or relay
     * @param sqlStateClass the first two characters of the SQLSTATE, or "none"
     * @param permanent  true when the relay stops; false when it reconnects
     */
    default void sessionFailed(String side, String sqlStateClass, boolean permanent) {}

    /** The downstream pool is about to be created: a chance to attach pool metrics. */
    default void poolCreated(com.zaxxer.hikari.HikariConfig pool) {}

    /** A session is about to connect again after a failure. */
    default void reconnecting(int attempt) {}
}
