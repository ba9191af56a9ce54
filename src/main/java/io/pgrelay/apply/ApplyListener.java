package io.pgrelay.apply;

import io.pgrelay.checkpoint.Checkpoint;
import io.pgrelay.decode.PgOutputMessage.Commit;
import io.pgrelay.decode.PgOutputMessage.Relation;
import org.postgresql.replication.LogSequenceNumber;

/**
 * What apply reports as it goes: the seam for metrics and for the stream's flush position.
 * Every method defaults to doing nothing, so apply needs no metrics library. Called on the
 * apply thread; implementations must be quick and must not block.
 */
public interface ApplyListener {

    ApplyListener NONE = new ApplyListener() {};

    /** A downstream transaction committed; {@code checkpoint} is now durable. */
    default void groupCommitted(Checkpoint checkpoint) {}

    /** An upstream transaction was applied (not yet committed downstream). */
    default void transactionApplied(Commit commit) {}

    /** An upstream transaction was skipped because the checkpoint already covers it. */
    default void transactionSkipped(LogSequenceNumber endLsn) {}

    default void rowApplied(Relation relation, int rows) {}
}
