package io.pgrelay.apply;

import io.pgrelay.decode.PgOutputMessage.Commit;
import io.pgrelay.decode.PgOutputMessage.Relation;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the open downstream transaction applied, reported to the {@link ApplyListener} only once
 * it commits: rows and transactions of a group that is rolled back (a session that failed, a
 * parallel unit applied again after the earlier ones) are counted when they are applied again,
 * not twice.
 *
 * <p>Not thread-safe: owned by one {@link ChangeApplier}.
 */
final class UncommittedCounts {

    /** Rows per Relation message (identity: one object per table per session) and operation. */
    private final Map<Relation, Map<String, int[]>> rows = new IdentityHashMap<>();
    private final List<Commit> transactions = new ArrayList<>();
    private int folded;

    void row(Relation relation, String operation) {
        rows.computeIfAbsent(relation, r -> new LinkedHashMap<>(4))
                .computeIfAbsent(operation, o -> new int[1])[0]++;
    }

    void transaction(Commit commit) {
        transactions.add(commit);
    }

    /** An UPDATE folded into an earlier UPDATE of the same row (see {@link CrossTableBatch}). */
    void folded() {
        folded++;
    }

    /** The downstream transaction committed: report it all, then start over. */
    void committed(ApplyListener listener) {
        for (Commit commit : transactions) {
            listener.transactionApplied(commit);
        }
        rows.forEach((relation, byOperation) ->
                byOperation.forEach((operation, count) -> listener.rowsApplied(relation, operation, count[0])));
        if (folded > 0) {
            listener.updatesFolded(folded);
        }
        discard();
    }

    /** The downstream transaction rolled back: none of it happened. */
    void discard() {
        rows.clear();
        transactions.clear();
        folded = 0;
    }
}
