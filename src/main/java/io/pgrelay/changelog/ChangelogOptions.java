package io.pgrelay.changelog;

/**
 * Tuning of a {@link Changelog}.
 *
 * @param segmentBytes     target size of one segment file; a segment is closed and a new one started
 *                         when the next record would not fit (a record larger than a whole segment
 *                         gets a segment of its own). Default 64 MiB, at least 1 KiB.
 * @param writeBufferBytes the writer's single buffer in front of the OS: appended records are
 *                         copied here and written when it is full, on {@link Changelog#sync()} and
 *                         at a segment switch. Default 1 MiB.
 * @param readBufferBytes  each reader's (and recovery's) read buffer; records larger than this
 *                         are read straight into their own array. Default 64 KiB.
 * @param maxRecordBytes   largest accepted message; appends beyond it fail, and a length field
 *                         beyond it on disk is corruption, rejected before any allocation.
 *                         Default 1 GiB, PostgreSQL's own limit for one message.
 */
public record ChangelogOptions(long segmentBytes, int writeBufferBytes, int readBufferBytes, int maxRecordBytes) {

    public static final long DEFAULT_SEGMENT_BYTES = 64L << 20;
    public static final int DEFAULT_WRITE_BUFFER_BYTES = 1 << 20;
    public static final int DEFAULT_READ_BUFFER_BYTES = 64 << 10;
    public static final int DEFAULT_MAX_RECORD_BYTES = 1 << 30;

    public ChangelogOptions {
        if (segmentBytes < 1024) {
            throw new IllegalArgumentException("changelog segmentBytes must be at least 1024, got " + segmentBytes);
        }
        if (writeBufferBytes < 64) {
            throw new IllegalArgumentException("changelog writeBufferBytes must be at least 64, got " + writeBufferBytes);
        }
        if (readBufferBytes < 64) {
            throw new IllegalArgumentException("changelog readBufferBytes must be at least 64, got " + readBufferBytes);
        }
        if (maxRecordBytes < 64 || maxRecordBytes > Integer.MAX_VALUE - RecordFormat.FRAME_BYTES) {
            throw new IllegalArgumentException("changelog maxRecordBytes must be between 64 and "
                    + (Integer.MAX_VALUE - RecordFormat.FRAME_BYTES) + ", got " + maxRecordBytes);
        }
    }

    public static ChangelogOptions defaults() {
        return new ChangelogOptions(DEFAULT_SEGMENT_BYTES, DEFAULT_WRITE_BUFFER_BYTES, DEFAULT_READ_BUFFER_BYTES,
                DEFAULT_MAX_RECORD_BYTES);
    }

    public ChangelogOptions withSegmentBytes(long bytes) {
        return new ChangelogOptions(bytes, writeBufferBytes, readBufferBytes, maxRecordBytes);
    }

    public ChangelogOptions withWriteBufferBytes(int bytes) {
        return new ChangelogOptions(segmentBytes, bytes, readBufferBytes, maxRecordBytes);
    }

    public ChangelogOptions withReadBufferBytes(int bytes) {
        return new ChangelogOptions(segmentBytes, writeBufferBytes, bytes, maxRecordBytes);
    }

    public ChangelogOptions withMaxRecordBytes(int bytes) {
        return new ChangelogOptions(segmentBytes, writeBufferBytes, readBufferBytes, bytes);
    }
}
