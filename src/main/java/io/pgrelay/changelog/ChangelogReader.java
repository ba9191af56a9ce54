package io.pgrelay.changelog;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * A cursor over the changelog, made by {@link Changelog#openReader(long)}; used by one thread.
 *
 * <p>It returns the records of complete, durable transactions only, in log order, starting at
 * the first transaction whose commit LSN is at or above the requested position, and then follows
 * the log as it grows: {@link #next(Duration)} waits on the changelog's condition, and
 * {@link Changelog#sync()} wakes it, so new data arrives without polling delay.
 *
 * <p>It reads the segment files through its own {@link FileChannel} with one bounded buffer
 * ({@link ChangelogOptions#readBufferBytes()}); a returned record gets its own array. While open
 * it pins the segment it reads (see {@link Changelog#releaseUpTo}); {@link #close()} releases the
 * pin, so a reader that is no longer used must be closed.
 *
 * <p>It tracks the latest Relation and Type message per id as of its position, starting from the
 * header block of the segment it started in: {@link #relation(int)} and {@link #type(int)} answer
 * also for definitions sent long before the start position.
 */
public final class ChangelogReader implements AutoCloseable {

    private static final long MAX_WAIT_NANOS = Long.MAX_VALUE / 4;

    private final Changelog changelog;
    private final ChangelogOptions options;
    private final long fromLsn;
    private final Map<Integer, byte[]> relations = new HashMap<>();
    private final Map<Integer, byte[]> types = new HashMap<>();
    private Segment segment;
    private FileChannel channel;
    private RecordInput in;
    /** Still skipping records before the start position. */
    private boolean searching = true;
    private boolean inTxn;
    private boolean closed;

    ChangelogReader(Changelog changelog, Segment start, long fromLsn) throws IOException {
        this.changelog = changelog;
        this.options = changelog.options();
        this.fromLsn = fromLsn;
        this.segment = start;
        openSegment(start, true);
    }

    /** The position this reader was opened at. */
    public long fromLsn() {
        return fromLsn;
    }

    /**
     * The next record, waiting up to {@code timeout} for more complete, durable transactions;
     * null when none arrived in time.
     *
     * @throws ChangelogClosedException          when the changelog or this reader was closed
     * @throws ChangelogCorruptException         when durable data does not read back intact
     * @throws InterruptedException              when interrupted while waiting
     */
    public ChangelogRecord next(Duration timeout) throws IOException, InterruptedException {
        if (closed) {
            throw new ChangelogClosedException("changelog reader is closed");
        }
        long wait = timeout.isNegative() ? 0 : Math.min(MAX_WAIT_NANOS, saturatedNanos(timeout));
        long deadline = System.nanoTime() + wait;
        while (true) {
            changelog.checkOpen();
            Changelog.Durable d = changelog.durable();
            ChangelogRecord record = read(d, false);
            if (record != null) {
                return record;
            }
            if (!changelog.awaitChange(d, deadline)) {
                return null;
            }
        }
    }

    /**
     * The latest Relation message ('R') for {@code relationId} as of this reader's position (read-only),
     * or null when none was seen.
     */
    public ByteBuffer relation(int relationId) {
        byte[] b = relations.get(relationId);
        return b == null ? null : ByteBuffer.wrap(b).asReadOnlyBuffer();
    }

    /** The latest Type message ('Y') for {@code typeOid} as of this reader's position, or null. */
    public ByteBuffer type(int typeOid) {
        byte[] b = types.get(typeOid);
        return b == null ? null : ByteBuffer.wrap(b).asReadOnlyBuffer();
    }

    /** Number of relations and types currently known, for tests and diagnostics. */
    public int knownDefinitions() {
        return relations.size() + types.size();
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            channel.close();
        } finally {
            changelog.unpin(segment.seq());
        }
    }

    /** Skips to the start position as far as durable data allows (the rest happens in next()). */
    void positionAtStart() throws IOException {
        read(changelog.durable(), true);
    }

    /**
     * Reads the next record before the durable boundary {@code d}, skipping records before the
     * start position; null when there is none (yet). With {@code positionOnly}, stops in front of
     * the first record to return.
     */
    private ChangelogRecord read(Changelog.Durable d, boolean positionOnly) throws IOException {
        while (true) {
            long limit = segment.seq() < d.seq() ? segment.sealedSize : d.offset();
            int status = in.readFrame(limit);
            if (status == RecordInput.END) {
                if (segment.seq() < d.seq()) {
                    moveToNextSegment();
                    continue;
                }
                return null;
            }
            if (status != RecordInput.RECORD) {
                throw corrupt(status == RecordInput.BAD_LENGTH ? "length field " + in.length() + " out of range"
                        : "record runs past the durable end " + limit);
            }
            byte type = in.type();
            if (searching && !inTxn && (type == RecordFormat.BEGIN || type == RecordFormat.MESSAGE)) {
                long key = RecordFormat.getLong(in.head(), type == RecordFormat.BEGIN ? 1 : 2);
                if (Lsn.compare(key, fromLsn) >= 0) {
                    searching = false;
                }
            }
            if (searching) {
                if (Definitions.isDefinition(type)) {
                    learn(readPayload());
                } else if (!in.skipPayload()) {
                    throw corrupt("CRC mismatch");
                }
                track(type);
                continue;
            }
            if (positionOnly) {
                in.seek(in.recordStart());
                return null;
            }
            byte[] payload = readPayload();
            if (Definitions.isDefinition(type)) {
                learn(payload);
            }
            track(type);
            return new ChangelogRecord(in.lsn(), ByteBuffer.wrap(payload).asReadOnlyBuffer());
        }
    }

    private byte[] readPayload() throws IOException {
        byte[] payload = in.readPayload();
        if (payload == null) {
            throw corrupt("CRC mismatch");
        }
        return payload;
    }

    private void track(byte type) {
        if (type == RecordFormat.BEGIN) {
            inTxn = true;
        } else if (type == RecordFormat.COMMIT) {
            inTxn = false;
        }
    }

    private void learn(byte[] message) throws ChangelogCorruptException {
        if (message.length < RecordFormat.DEFINITION_MIN_BYTES) {
            throw corrupt("short '" + (char) message[0] + "' message");
        }
        int id = RecordFormat.getInt(message, 1);
        (message[0] == RecordFormat.RELATION ? relations : types).put(id, message);
    }

    private void moveToNextSegment() throws IOException {
        Segment next = changelog.advance(segment);
        segment = next;
        channel.close();
        openSegment(next, false);
        if (inTxn != next.header.startsMidTransaction()) {
            throw corrupt("segment header disagrees about a transaction spanning into it");
        }
    }

    private void openSegment(Segment s, boolean loadDefinitions) throws IOException {
        channel = FileChannel.open(s.path, StandardOpenOption.READ);
        RecordFormat.SegmentHeader header = Recovery.readHeader(channel);
        if (header == null || !header.equals(s.header)) {
            throw new ChangelogCorruptException("changelog segment " + s + ": header does not read back");
        }
        if (!loadDefinitions) {
            in = new RecordInput(channel, options.readBufferBytes(), options.maxRecordBytes(), header.recordsStart());
            return;
        }
        in = new RecordInput(channel, options.readBufferBytes(), options.maxRecordBytes(),
                RecordFormat.SEGMENT_HEADER_BYTES);
        for (int i = 0; i < header.definitionCount(); i++) {
            if (in.readFrame(header.recordsStart()) != RecordInput.RECORD) {
                throw corrupt("bad header block");
            }
            byte[] message = readPayload();
            if (!Definitions.isDefinition(message[0])) {
                throw corrupt("header block holds a '" + (char) message[0] + "' message");
            }
            learn(message);
        }
        inTxn = header.startsMidTransaction();
    }

    private ChangelogCorruptException corrupt(String what) {
        return new ChangelogCorruptException("changelog segment " + segment + ", record at offset "
                + (in == null ? -1 : in.recordStart()) + ": " + what);
    }

    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }
}
