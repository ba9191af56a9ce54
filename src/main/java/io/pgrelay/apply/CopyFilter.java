package io.pgrelay.apply;

import io.pgrelay.decode.PgOutputMessage.Relation;
import java.util.Map;

/**
 * Skips the changes a table's initial copy already holds. A resumed initial copy reads a table
 * under a later snapshot than the slot's consistent point (README "Initial sync"): for that
 * table, every transaction committed before the snapshot's own consistent point (its sync LSN)
 * is in the copy, every later one is not. The rule is native tablesync's: apply when
 * {@code syncLsn <= commitLsn}.
 */
@FunctionalInterface
public interface CopyFilter {

    CopyFilter NONE = (relation, commitLsn) -> false;

    /**
     * @param commitLsn the upstream transaction's commit LSN (Begin's final LSN)
     * @return true when the table's copy already holds this transaction's changes to it
     */
    boolean inCopy(Relation relation, long commitLsn);

    /** A filter over {@code schema.table} → sync LSN; NONE when empty. */
    static CopyFilter of(Map<String, Long> syncLsns) {
        if (syncLsns.isEmpty()) {
            return NONE;
        }
        Map<String, Long> copy = Map.copyOf(syncLsns);
        return (relation, commitLsn) -> {
            Long syncLsn = copy.get(relation.namespace() + "." + relation.name());
            return syncLsn != null && Long.compareUnsigned(commitLsn, syncLsn) < 0;
        };
    }
}
