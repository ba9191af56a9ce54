package io.pgrelay.changelog;

import java.nio.file.Path;

/**
 * What the changelog knows about one segment file. The header fields never change; the two
 * mutable fields are written by the writer (or by open/release) and read by any thread.
 */
final class Segment {

    final Path path;
    final RecordFormat.SegmentHeader header;

    /** Final file length once the writer has moved on to a later segment; -1 while it is written. */
    volatile long sealedSize = -1;

    /**
     * Commit LSN (or non-transactional message position) of the first transaction that begins in
     * this segment; 0 when none begins here; null while unknown (segments found at open, before
     * anyone needed to know).
     */
    volatile Long firstUnitKey;

    Segment(Path path, RecordFormat.SegmentHeader header) {
        this.path = path;
        this.header = header;
    }

    long seq() {
        return header.seq();
    }

    long firstKey() {
        return header.firstKey();
    }

    long recordsStart() {
        return header.recordsStart();
    }

    @Override
    public String toString() {
        return path.getFileName().toString();
    }
}
