package io.pgrelay.apply;

import java.util.List;
import java.util.concurrent.BlockingQueue;

/**
 * Consecutive upstream transactions that one lane of parallel apply applies and commits as one
 * downstream transaction.
 *
 * @param seq        its place in the commit order (1, 2, …)
 * @param waitFor    the last earlier unit it conflicts with: it starts once that one committed
 * @param catalogEnd how many Relation/Type messages the lane must know before it starts
 * @param messages   the transactions, Begin to Commit; Relation/Type messages that arrived with a
 *                   later transaction of the unit are a {@link CatalogUpTo} before it; null when
 *                   streamed
 * @param stream     for one transaction too large to hold: its messages as they arrive, in
 *                   lists (one hand-off per list), ending with its Commit; Relation/Type
 *                   messages arrive in it as {@link CatalogUpTo}
 */
record ApplyUnit(long seq, long waitFor, int catalogEnd, List<Object> messages, BlockingQueue<Object> stream) {

    /** Apply the catalog up to here before the next message. */
    record CatalogUpTo(int end) {}

    boolean isStreamed() {
        return stream != null;
    }
}
