package io.pgrelay.source;

import io.pgrelay.checkpoint.Checkpoint;
import org.postgresql.replication.LogSequenceNumber;

/**
 * The two positions the stream thread and the apply thread exchange, each written by exactly
 * one of them. Volatile fields: readers need the latest value, never a consistent pair.
 *
 * <ul>
 *   <li>{@link #upstreamEnd()}: written by the stream thread. The upstream's position when the
 *       stream had nothing more to read, after every message read before it was handed to the
 *       apply queue. Everything the upstream will send later commits after it.</li>
 *   <li>{@link #durable()}: written by the apply thread once a downstream commit is durable
 *       (committed, and flushed when the downstream commits asynchronously). The only
 *       position ever acknowledged upstream as flushed (DESIGN.md invariant 3).</li>
 * </ul>
 */
public final class StreamPositions {

    private volatile LogSequenceNumber upstreamEnd = LogSequenceNumber.INVALID_LSN;
    private volatile Checkpoint durable;

    public StreamPositions(Checkpoint start) {
        this.durable = start;
    }

    public LogSequenceNumber upstreamEnd() {
        return upstreamEnd;
    }

    void upstreamEnd(LogSequenceNumber position) {
        if (Long.compareUnsigned(position.asLong(), upstreamEnd.asLong()) > 0) {
            upstreamEnd = position;
        }
    }

    public Checkpoint durable() {
        return durable;
    }

    public void durable(Checkpoint checkpoint) {
        durable = checkpoint;
    }
}
