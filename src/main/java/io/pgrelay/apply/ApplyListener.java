package io.pgrelay.apply;

import io.pgrelay.checkpoint.Checkpoint;
import io.pgrelay.decode.PgOutputMessage.Commit;
import io.pgrelay.decode.PgOutputMessage.Relation;
import org.postgresql.replication.LogSequenceNumber;

/**
 * What apply reports as it goes: the seam for metrics and for the stream's flush position.
 * Every method defaults to doing nothing, so apply needs no metrics library. Called on the
 * apply thread, or under parallel apply on its lanes, concurrently; implementations must be
 * thread-safe, quick, and must not block.
 */
public interface ApplyListener {

    ApplyListener NONE = new ApplyListener() {};

    /**
     * A downstream transaction committed; {@code checkpoint} is now durable. {@code changes} row
     * changes were in it, sent over {@code nanos} from the group's first change to its commit;
     * both are 0 for an idle checkpoint advance.
     */
    default void groupCommitted(Checkpoint checkpoint, int changes, long nanos) {}

    /** An upstream transaction was applied; reported once the downstream transaction holding it committed. */
    default void transactionApplied(Commit commit) {}

    /** An upstream transaction was skipped because the checkpoint already covers it. */
    default void transactionSkipped(LogSequenceNumber endLsn) {}

    /**
     * One row change (operation: insert, update, delete, truncate) was applied; reported once
     * the downstream transaction holding it committed.
     */
    default void rowApplied(Relation relation, String operation) {}

    /** {@code count} row changes of one table and operation, committed together. */
    default void rowsApplied(Relation relation, String operation, int count) {
        for (int i = 0; i < count; i++) {
            rowApplied(relation, operation);
        }
    }

    /**
     * {@code count} UPDATEs were folded into an earlier UPDATE of the same row in the group that
     * just committed: one statement carried the row's last values (see {@link CrossTableBatch}).
     */
    default void updatesFolded(int count) {}

    /**
     * Parallel apply rolled back a unit and applies it again after the earlier ones, because the
     * downstream refused it ({@code refused}) or it held a lock an earlier unit waited for
     * ({@code yielded}): a dependency the conflict keys did not show. Called on a lane.
     */
    default void unitReapplied(String reason) {}
}
