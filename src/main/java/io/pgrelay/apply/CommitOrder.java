package io.pgrelay.apply;

import io.pgrelay.checkpoint.Checkpoint;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The order in which parallel apply units commit: unit {@code n} commits only after unit
 * {@code n - 1}, so the downstream only ever holds a prefix of the upstream's transactions and
 * the checkpoint written with each commit says exactly which (DESIGN.md invariant 2).
 *
 * <p>It is also where a unit waits for the earlier units it conflicts with (their commit), and
 * where the first failure of any lane stops all of them. Thread-safe: shared by the dispatcher
 * (the apply thread) and the lanes.
 */
final class CommitOrder {

    /** Thrown to a waiting thread once the order is aborted: roll back and leave. */
    static final class AbortedException extends Exception {
        AbortedException() {
            super("parallel apply stopped", null, false, false);
        }
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private long committed;
    private Checkpoint checkpoint;
    private Throwable failure;
    private boolean aborted;
    private final java.util.Set<Long> yields = new java.util.HashSet<>();

    CommitOrder(Checkpoint start) {
        this.checkpoint = start;
    }

    /** Waits until every unit up to {@code seq} has committed. */
    void awaitCommitted(long seq) throws AbortedException, InterruptedException {
        lock.lock();
        try {
            while (committed < seq) {
                if (aborted) {
                    throw new AbortedException();
                }
                changed.await();
            }
        } finally {
            lock.unlock();
        }
    }

    /** As {@link #awaitCommitted}, but gives up after {@code millis}: true when reached. */
    boolean awaitCommitted(long seq, long millis) throws AbortedException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        lock.lock();
        try {
            while (committed < seq) {
                if (aborted) {
                    throw new AbortedException();
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                changed.awaitNanos(left);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits for unit {@code seq}'s turn to commit (every earlier unit committed): true then;
     * false when the dispatcher asked the unit to yield meanwhile (see {@link #requestYield}).
     */
    boolean awaitTurn(long seq) throws AbortedException, InterruptedException {
        lock.lock();
        try {
            while (committed < seq - 1) {
                if (aborted) {
                    throw new AbortedException();
                }
                if (yields.remove(seq)) {
                    return false;
                }
                changed.await();
            }
            yields.remove(seq);
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Asks the lane of unit {@code seq}, which holds a lock an earlier unit waits for, to roll
     * back and apply again once its turn comes: the earlier unit goes first, as upstream did.
     */
    void requestYield(long seq) {
        lock.lock();
        try {
            yields.add(seq);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Unit {@code seq} committed with {@code checkpoint}; only ever in order. */
    void committed(long seq, Checkpoint committedCheckpoint) {
        lock.lock();
        try {
            if (seq != committed + 1) {
                throw new IllegalStateException("unit " + seq + " committed after unit " + committed);
            }
            committed = seq;
            advanceTo(committedCheckpoint);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The checkpoint moved without a unit (idle advance, written while every unit had
     * committed): later units commit past it.
     */
    void advance(Checkpoint advanced) {
        lock.lock();
        try {
            advanceTo(advanced);
        } finally {
            lock.unlock();
        }
    }

    /** Never backwards: a unit whose transactions were all skipped commits its lane's older checkpoint. */
    private void advanceTo(Checkpoint candidate) {
        if (Long.compareUnsigned(candidate.endLsn().asLong(), checkpoint.endLsn().asLong()) > 0) {
            checkpoint = candidate;
        }
    }

    long committed() {
        lock.lock();
        try {
            return committed;
        } finally {
            lock.unlock();
        }
    }

    /** The checkpoint of the last committed unit (the session's start checkpoint before any). */
    Checkpoint checkpoint() {
        lock.lock();
        try {
            return checkpoint;
        } finally {
            lock.unlock();
        }
    }

    /** Records the first failure and aborts every wait. */
    void fail(Throwable cause) {
        lock.lock();
        try {
            if (failure == null) {
                failure = cause;
            }
            aborted = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Ends every wait: lanes roll back what they have not committed and leave. */
    void abort() {
        lock.lock();
        try {
            aborted = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    boolean isAborted() {
        lock.lock();
        try {
            return aborted;
        } finally {
            lock.unlock();
        }
    }

    /** The first lane failure, or null. */
    Throwable failure() {
        lock.lock();
        try {
            return failure;
        } finally {
            lock.unlock();
        }
    }
}
