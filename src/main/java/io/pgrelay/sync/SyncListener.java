package io.pgrelay.sync;

import java.util.List;

/**
 * Initial-copy events for metrics. Defaults do nothing; called from the copy threads: be quick,
 * never block.
 */
public interface SyncListener {

    /** The copy starts with these tables ({@code schema.table}). */
    default void syncPlanned(List<String> tables) {}

    /** More of {@code table} was copied: increments, not totals. */
    default void syncCopied(String table, long rows, long bytes) {}

    /** {@code table} is copied and committed downstream. */
    default void syncTableDone(String table) {}
}
