package io.pgrelay.apply;

import io.pgrelay.checkpoint.Checkpoint;
import java.util.ArrayDeque;

/**
 * Downstream commits made with {@code synchronous_commit=off}, each with the downstream WAL
 * position that covers its commit record, waiting for the downstream to flush its WAL that far.
 * Only then may the checkpoint be acknowledged upstream (DESIGN.md invariant 3): a downstream
 * crash loses unflushed commits, checkpoint rows included.
 *
 * <p>Bounded: when full the oldest entry is dropped, which only delays its acknowledgement until
 * a later one (covering it) is flushed. Not thread-safe: owned by the apply thread.
 */
final class UnflushedCommits {

    static final int MAX_ENTRIES = 1024;

    private record Entry(Checkpoint checkpoint, long walEnd) {}

    private final ArrayDeque<Entry> entries = new ArrayDeque<>();

    /** A commit whose commit record ends at or before downstream WAL position {@code walEnd}. */
    void add(Checkpoint checkpoint, long walEnd) {
        if (entries.size() >= MAX_ENTRIES) {
            entries.removeFirst();
        }
        entries.addLast(new Entry(checkpoint, walEnd));
    }

    /**
     * Removes the commits that the downstream flush position {@code flushed} covers.
     *
     * @return the newest of them, or null when none is flushed yet
     */
    Checkpoint flushedUpTo(long flushed) {
        Checkpoint newest = null;
        while (!entries.isEmpty() && Long.compareUnsigned(entries.peekFirst().walEnd(), flushed) <= 0) {
            newest = entries.removeFirst().checkpoint();
        }
        return newest;
    }

    /** The downstream WAL position that, once flushed, covers every commit here; -1 when empty. */
    long lastWalEnd() {
        return entries.isEmpty() ? -1 : entries.peekLast().walEnd();
    }

    boolean isEmpty() {
        return entries.isEmpty();
    }

    void clear() {
        entries.clear();
    }
}
