package io.pgrelay.changelog;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay's durable, append-only local log of the pgoutput messages it received from its
 * upstream. The stream thread appends every message; feed sessions read it back from any
 * retained position through {@link ChangelogReader}s, live-tailing new data.
 *
 * <h2>Positions</h2>
 * Every transaction is keyed by its <em>commit LSN</em> (Begin's {@code final_lsn}, equal to
 * Commit's {@code commit_lsn}); a non-transactional logical message (sent outside Begin/Commit)
 * is a unit of its own keyed by its message LSN. Keys strictly increase along the log (the
 * upstream sends transactions in commit order), while the per-message upstream LSNs do not (a
 * Begin carries the transaction's first LSN, which may lie before the previous commit), so all
 * searching and retention uses keys. A reader started at {@code fromLsn} returns the first unit
 * whose key is {@code >= fromLsn}, which is PostgreSQL's own rule for a slot's
 * {@code confirmed_flush}.
 *
 * <h2>Files</h2>
 * A directory of segment files {@code SSSSSSSSSSSSSSSS-KKKKKKKKKKKKKKKK.seg}: a 64-bit sequence
 * number (consecutive; gaps are corruption) and the key of the unit the segment's first record
 * belongs to, both 16 upper-case hex digits. (The name cannot be the first record's own LSN: those
 * are not monotonic, and one large transaction can fill several segments.) All integers are
 * big-endian. A segment is:
 * <pre>
 *   header (64 bytes)
 *     0  "PGRLCLOG"          magic
 *     8  int32 version       1
 *    12  int32 flags         bit 0: first record continues a transaction begun in the previous segment
 *    16  int64 seq
 *    24  int64 firstKey      key of the unit the first record belongs to (lower bound of all keys in the segment)
 *    32  int64 prevLastKey   key of the last unit with records in earlier segments (0: none)
 *    40  int64 prevEndLsn    end LSN of the last complete transaction before this segment (0: none)
 *    48  int32 defCount      records in the header block
 *    52  int64 defBytes      size of the header block
 *    60  int32 crc32c        of bytes 0..59
 *   header block: defCount records, one per Relation ('R') and Type ('Y') message in effect here
 *   records
 * </pre>
 * and every record (in the header block and after it) is framed as
 * {@code [int32 length][int32 crc32c of (lsn, payload)][int64 lsn][payload: one raw pgoutput message]},
 * {@code 1 <= length <= maxRecordBytes}. A reader checks the length against that bound and the
 * readable size before allocating anything.
 *
 * <h2>Segment switch</h2>
 * A new segment starts when the next record would push the current one past
 * {@link ChangelogOptions#segmentBytes()} (a record that does not fit even in an empty segment
 * gets a segment of its own). The switch happens at any record, also in the middle of a
 * transaction: segments stay near their size whatever the transaction sizes (invariant 6), and a
 * transaction may span several segments; the header flag tells readers and recovery that a
 * segment starts inside one. The writer fsyncs the old segment before creating the next, so every
 * segment but the last is always complete on disk.
 *
 * <h2>Relation definitions: the header block</h2>
 * pgoutput sends a Relation once per upstream session before the first change to it, so a reader
 * starting in the middle of the log would not see it. The writer keeps the latest Relation and
 * Type message per id (those of complete transactions, plus those of the transaction being
 * written) and copies them into the header block of each new segment. A reader loads the header
 * block of the segment it starts in and scans from there to its start position, applying every
 * Relation and Type it passes without returning them, so {@link ChangelogReader#relation(int)}
 * answers for every relation defined before its position. Memory on both sides is bounded by the
 * number of relations and types, not by the data.
 *
 * <h2>Threads</h2>
 * <ul>
 * <li>Exactly one writer thread calls {@link #append}, {@link #sync}, {@link #discardIncompleteTail}
 *     and {@link #close}. Appending takes no lock per record (only once per segment switch): it
 *     copies into a private write buffer (at most {@link ChangelogOptions#writeBufferBytes()}) that
 *     goes to the OS when full, on sync and at a segment switch.</li>
 * <li>{@link #sync()} writes the buffer, fsyncs, and then publishes the <em>durable boundary</em>
 *     (segment, offset just after the last complete unit) under the lock and signals waiting
 *     readers. Readers read the files through their own channels and never past that boundary, so
 *     they never see a partial record, an incomplete transaction, or data that is not fsynced.</li>
 * <li>Readers: many, each used by one thread; see {@link ChangelogReader}.</li>
 * <li>{@link #releaseUpTo} may run on the writer thread or on a housekeeping thread; positions
 *     ({@link #endLsn()} etc.) may be read from any thread.</li>
 * </ul>
 * The writer must not be interrupted while it does file I/O: an interrupt closes the channel
 * (NIO semantics). After any I/O failure the writer refuses further writes; close and reopen the
 * changelog, and recovery repairs the tail.
 *
 * <h2>Retention and live readers</h2>
 * {@link #releaseUpTo(long)} deletes whole segments from the start of the log whose units all have
 * a key below the given position. It never deletes the segment at or after the durable boundary
 * (the one being written), nor any segment a reader has pinned: every reader holds a pin (a
 * reference count kept under the lock) on the segment it is reading; it pins the next segment
 * before unpinning the current one, and {@link #openReader} pins under the same lock that release
 * holds, so a segment cannot disappear between being chosen and being opened. A reader that stays
 * open therefore holds retention back; the feed server closes the readers of lost or idle slots.
 * After a release, {@link #openReader} with a position at or below a released transaction's key
 * fails with {@link ChangelogPositionLostException}; this is derived from the first segment's
 * header, so it survives restarts.
 *
 * <h2>Recovery</h2>
 * {@link #open} validates the last segment record by record (length bounds, CRC, transaction
 * structure) and truncates it to the end of its last complete unit: a torn or garbage tail goes,
 * and so does an incomplete transaction after the last Commit; when that transaction began in an
 * earlier segment, the later segments are deleted and that segment is truncated. A last segment
 * whose header is torn (crash while creating it) is deleted. The writer continues appending after
 * the recovered end. Damage anywhere else is reported as {@link ChangelogCorruptException}.
 *
 * <h2>Re-sent transactions</h2>
 * When the upstream session restarts, the upstream may send transactions the log already holds
 * (the acknowledged position is the minimum of the apply checkpoint and the changelog's durable
 * end). A transaction whose commit LSN is not above the last complete one is skipped whole, and
 * {@link #append} answers false for its messages.
 */
public final class Changelog implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Changelog.class);

    /** A published position: readers may read every byte before {@code offset} of segment {@code seq}. */
    record Durable(long seq, long offset, long endLsn) {}

    private final Path dir;
    private final ChangelogOptions options;

    // ---- shared state ----
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition advanced = lock.newCondition();
    /** Retained segments, oldest first. Guarded by {@link #lock}. */
    private final ArrayList<Segment> segments = new ArrayList<>();
    /** Reader pins: segment seq to count. Guarded by {@link #lock}. */
    private final TreeMap<Long, Integer> pins = new TreeMap<>();
    /** Bytes of all segments but the current one. Guarded by {@link #lock}. */
    private long sealedBytes;
    private volatile int segmentCount;
    private volatile Durable durable;
    private volatile boolean closed;
    private volatile long endLsn;
    private volatile long lastKey;
    private volatile long currentBytes;
    private final Object releaseMonitor = new Object();

    // ---- writer state (writer thread only) ----
    private Segment current;
    private FileChannel channel;
    /** Logical end of the current segment, including the write buffer. */
    private long writePos;
    /** End of what was handed to the OS; {@code flushedPos + writeBuffer.position() == writePos}. */
    private long flushedPos;
    private final ByteBuffer writeBuffer;
    private boolean unforced;
    private boolean directoryDirty;
    private boolean inTxn;
    private boolean skippingDuplicate;
    private long skippedUnits;
    private long skippedLastKey;
    private long txnKey;
    private Segment txnBeginSegment;
    private long txnBeginOffset;
    /** Definitions of complete units. */
    private final Definitions committed;
    /** Definitions received in the open transaction. */
    private final Definitions pending = new Definitions();
    private Segment committedSegment;
    private long committedOffset;
    private IOException failure;

    private Changelog(Path dir, ChangelogOptions options, Recovery.Result recovered) throws IOException {
        this.dir = dir;
        this.options = options;
        this.writeBuffer = ByteBuffer.allocate(options.writeBufferBytes());
        this.segments.addAll(recovered.segments());
        for (Segment s : segments) {
            if (s != recovered.current()) {
                sealedBytes += s.sealedSize;
            }
        }
        this.segmentCount = segments.size();
        this.current = recovered.current();
        this.channel = FileChannel.open(current.path, StandardOpenOption.WRITE);
        this.writePos = recovered.end();
        this.flushedPos = writePos;
        this.currentBytes = writePos;
        this.committed = recovered.definitions();
        this.lastKey = recovered.lastKey();
        this.endLsn = recovered.endLsn();
        this.committedSegment = current;
        this.committedOffset = writePos;
        this.durable = new Durable(current.seq(), writePos, endLsn);
    }

    /**
     * Opens the log in {@code dir} (created when missing) and recovers it: the tail of the last
     * segment is verified and truncated to the end of the last complete transaction (see the
     * class description). Appends continue after that.
     */
    public static Changelog open(Path dir, ChangelogOptions options) throws IOException {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(options, "options");
        Files.createDirectories(dir);
        Recovery.Result recovered = Recovery.run(dir, options);
        Changelog changelog = new Changelog(dir, options, recovered);
        try {
            changelog.learnFirstUnitKeys();
        } catch (IOException | RuntimeException e) {
            changelog.channel.close();
            throw e;
        }
        log.info("changelog opened in {}: {} segment(s), {} bytes, commit LSNs {} to {}", dir,
                changelog.segmentCount(), changelog.retainedBytes(), Lsn.format(changelog.startLsn()),
                Lsn.format(changelog.lastKey));
        return changelog;
    }

    // ------------------------------------------------------------------ writer

    /**
     * Appends one raw pgoutput message received at upstream position {@code lsn} (the XLogData
     * dataStart). The bytes between the message's position and limit are copied; the buffer
     * itself is left unchanged. Messages must come in upstream order: Begin, [Origin],
     * [Type/Relation...], changes..., Commit; a non-transactional logical message ('M') may come
     * between transactions.
     *
     * @return true when the message was appended; false when it belongs to a transaction (or is a
     *         non-transactional message) the log already holds, re-sent after an upstream restart
     * @throws IllegalArgumentException for an empty, oversized or malformed Begin/Commit/Relation/Type
     *         message, a message other than Begin or 'M' outside a transaction, or a Commit that
     *         does not match its Begin; nothing is appended then
     * @throws IllegalStateException    for a Begin while a transaction is open
     */
    public boolean append(long lsn, ByteBuffer message) throws IOException {
        checkWritable();
        ByteBuffer msg = message.duplicate().order(ByteOrder.BIG_ENDIAN);
        int length = msg.remaining();
        if (length == 0) {
            throw new IllegalArgumentException("empty pgoutput message");
        }
        if (length > options.maxRecordBytes()) {
            throw new IllegalArgumentException("pgoutput message of " + length + " bytes exceeds the changelog's"
                    + " maximum record size of " + options.maxRecordBytes() + " bytes");
        }
        int p = msg.position();
        byte type = msg.get(p);
        if (skippingDuplicate) {
            if (type == RecordFormat.BEGIN) {
                throw new IllegalStateException("Begin inside a transaction; call discardIncompleteTail() first");
            }
            if (type == RecordFormat.COMMIT) {
                skippingDuplicate = false;
            }
            return false;
        }
        try {
            if (!inTxn) {
                if (type == RecordFormat.BEGIN) {
                    requireLength(msg, RecordFormat.BEGIN_BYTES, "Begin");
                    long key = msg.getLong(p + 1);
                    if (isDuplicate(key)) {
                        skippingDuplicate = true;
                        noteSkipped(key);
                        return false;
                    }
                    reportSkipped();
                    long start = writeRecord(lsn, msg, false, key);
                    inTxn = true;
                    txnKey = key;
                    txnBeginSegment = current;
                    txnBeginOffset = start;
                    noteUnitStart(key);
                } else if (type == RecordFormat.MESSAGE) {
                    requireLength(msg, RecordFormat.MESSAGE_MIN_BYTES, "logical message");
                    long key = msg.getLong(p + 2);
                    if (isDuplicate(key)) {
                        noteSkipped(key);
                        return false;
                    }
                    reportSkipped();
                    writeRecord(lsn, msg, false, key);
                    noteUnitStart(key);
                    completeUnit(key);
                } else {
                    throw new IllegalArgumentException("pgoutput message '" + (char) type
                            + "' outside a transaction (expected Begin)");
                }
            } else if (type == RecordFormat.BEGIN) {
                throw new IllegalStateException("Begin while the transaction with commit LSN " + Lsn.format(txnKey)
                        + " is still open; call discardIncompleteTail() first");
            } else if (type == RecordFormat.COMMIT) {
                requireLength(msg, RecordFormat.COMMIT_BYTES, "Commit");
                long commitLsn = msg.getLong(p + 2);
                long end = msg.getLong(p + 10);
                if (commitLsn != txnKey) {
                    throw new IllegalArgumentException("Commit for commit LSN " + Lsn.format(commitLsn)
                            + " inside the transaction with commit LSN " + Lsn.format(txnKey));
                }
                writeRecord(lsn, msg, true, txnKey);
                inTxn = false;
                committed.putAll(pending);
                pending.clear();
                endLsn = end;
                completeUnit(txnKey);
            } else if (Definitions.isDefinition(type)) {
                requireLength(msg, RecordFormat.DEFINITION_MIN_BYTES, type == RecordFormat.RELATION ? "Relation" : "Type");
                writeRecord(lsn, msg, true, txnKey);
                byte[] copy = new byte[length];
                msg.get(p, copy);
                pending.put(lsn, copy);
            } else {
                writeRecord(lsn, msg, true, txnKey);
            }
            return true;
        } catch (IOException e) {
            throw fail(e);
        }
    }

    /**
     * Makes everything appended so far durable: writes the buffer, fsyncs the segment (and the
     * directory when a segment was created or deleted), then lets readers see every complete
     * transaction up to here and wakes those waiting. Call it in groups (when caught up, or every
     * few ms), not per message.
     */
    public void sync() throws IOException {
        checkWritable();
        try {
            Durable d = durable;
            Durable target = committedSegment.seq() != d.seq() || committedOffset != d.offset()
                    ? new Durable(committedSegment.seq(), committedOffset, endLsn) : d;
            flushBuffer();
            if (unforced) {
                channel.force(false);
                unforced = false;
            }
            if (directoryDirty) {
                fsyncDirectory();
                directoryDirty = false;
            }
            if (target != d) {
                lock.lock();
                try {
                    durable = target;
                    advanced.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        } catch (IOException e) {
            throw fail(e);
        }
    }

    /**
     * Drops the records of the open transaction, if any (the upstream session ended in the
     * middle of it; it will be sent again). Its Relation/Type messages are forgotten too.
     */
    public void discardIncompleteTail() throws IOException {
        checkWritable();
        if (skippingDuplicate) {
            skippingDuplicate = false;
            return;
        }
        if (!inTxn) {
            return;
        }
        try {
            long dropped;
            int removedSegments = 0;
            if (txnBeginSegment == current) {
                dropped = writePos - txnBeginOffset;
                if (txnBeginOffset >= flushedPos) {
                    writeBuffer.position((int) (txnBeginOffset - flushedPos));
                } else {
                    writeBuffer.clear();
                    channel.truncate(txnBeginOffset);
                    flushedPos = txnBeginOffset;
                    unforced = true;
                }
                writePos = txnBeginOffset;
            } else {
                writeBuffer.clear();
                channel.close();
                List<Segment> removed;
                lock.lock();
                try {
                    int index = segments.indexOf(txnBeginSegment);
                    removed = new ArrayList<>(segments.subList(index + 1, segments.size()));
                    segments.subList(index + 1, segments.size()).clear();
                    for (Segment s : removed) {
                        if (s != current) {
                            sealedBytes -= s.sealedSize;
                        }
                    }
                    sealedBytes -= txnBeginSegment.sealedSize;
                    segmentCount = segments.size();
                } finally {
                    lock.unlock();
                }
                dropped = txnBeginSegment.sealedSize - txnBeginOffset;
                for (Segment s : removed) {
                    dropped += s == current ? writePos : s.sealedSize;
                    Files.deleteIfExists(s.path);
                }
                removedSegments = removed.size();
                directoryDirty = true;
                txnBeginSegment.sealedSize = -1;
                current = txnBeginSegment;
                channel = FileChannel.open(current.path, StandardOpenOption.WRITE);
                channel.truncate(txnBeginOffset);
                flushedPos = txnBeginOffset;
                writePos = txnBeginOffset;
                unforced = true;
            }
            Long first = current.firstUnitKey;
            if (first != null && first == txnKey) {
                current.firstUnitKey = 0L;
            }
            currentBytes = writePos;
            pending.clear();
            inTxn = false;
            log.info("changelog: discarded the incomplete transaction with commit LSN {} ({} bytes{})",
                    Lsn.format(txnKey), dropped, removedSegments == 0 ? "" : ", " + removedSegments + " segment(s) deleted");
        } catch (IOException e) {
            throw fail(e);
        }
    }

    /**
     * Flushes and fsyncs what was appended (a clean stop loses nothing), then closes. Waiting
     * readers wake with {@link ChangelogClosedException}. Call from the writer thread, or after it
     * has stopped.
     */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        IOException error = null;
        try {
            if (failure == null) {
                flushBuffer();
                if (unforced) {
                    channel.force(false);
                }
                if (directoryDirty) {
                    fsyncDirectory();
                }
            }
        } catch (IOException e) {
            error = e;
        } finally {
            lock.lock();
            try {
                closed = true;
                advanced.signalAll();
            } finally {
                lock.unlock();
            }
            try {
                channel.close();
            } catch (IOException e) {
                if (error == null) {
                    error = e;
                } else {
                    error.addSuppressed(e);
                }
            }
        }
        if (error != null) {
            throw error;
        }
        log.info("changelog closed: {} bytes in {} segment(s), end LSN {}", retainedBytes(), segmentCount(),
                Lsn.format(endLsn));
    }

    // ------------------------------------------------------------------ positions

    /** End LSN (Commit's end_lsn) of the last complete transaction appended; 0 when none. */
    public long endLsn() {
        return endLsn;
    }

    /** End LSN of the last complete transaction that is fsynced; 0 when none. */
    public long durableEndLsn() {
        return durable.endLsn();
    }

    /**
     * Commit LSN of the oldest complete transaction still retained (non-transactional messages
     * count too); 0 when there is none.
     */
    public long startLsn() {
        long last = lastKey;
        lock.lock();
        try {
            for (Segment s : segments) {
                Long key = s.firstUnitKey;
                if (key != null && key != 0) {
                    return Lsn.compare(key, last) <= 0 ? key : 0;
                }
            }
            return 0;
        } finally {
            lock.unlock();
        }
    }

    /** Bytes of all retained segment files, including data not yet written to the OS. */
    public long retainedBytes() {
        lock.lock();
        try {
            return sealedBytes + currentBytes;
        } finally {
            lock.unlock();
        }
    }

    public int segmentCount() {
        return segmentCount;
    }

    public Path directory() {
        return dir;
    }

    // ------------------------------------------------------------------ retention

    /**
     * Deletes whole segments, oldest first, whose transactions all have a commit LSN below
     * {@code lsn}, i.e. what a client that confirmed {@code lsn} will never ask for again (the
     * same rule as {@link #openReader}: everything with commit LSN {@code >= lsn} stays readable;
     * for positions at transaction boundaries this is "transactions that end at or before lsn").
     * Never deletes the segment holding the durable end (the one being written) or later ones, nor
     * a segment pinned by an open reader or any after it. Safe with concurrent readers and the
     * writer; calls are serialized.
     */
    public void releaseUpTo(long lsn) throws IOException {
        synchronized (releaseMonitor) {
            List<Segment> victims = new ArrayList<>();
            List<Long> coveredBelow = new ArrayList<>();
            lock.lock();
            try {
                if (closed) {
                    throw new ChangelogClosedException("changelog is closed");
                }
                long minPinned = pins.isEmpty() ? Long.MAX_VALUE : pins.firstKey();
                long durableSeq = durable.seq();
                while (segments.size() > 1) {
                    Segment s = segments.get(0);
                    Segment next = segments.get(1);
                    if (s.seq() >= durableSeq || s.seq() >= minPinned
                            || Lsn.compare(next.header.prevLastKey(), lsn) >= 0) {
                        break;
                    }
                    segments.remove(0);
                    sealedBytes -= s.sealedSize;
                    victims.add(s);
                    coveredBelow.add(next.header.prevLastKey());
                }
                segmentCount = segments.size();
            } finally {
                lock.unlock();
            }
            if (victims.isEmpty()) {
                return;
            }
            for (int i = 0; i < victims.size(); i++) {
                Segment s = victims.get(i);
                Files.deleteIfExists(s.path);
                log.info("changelog: released segment {} ({} bytes, transactions up to commit LSN {})", s,
                        s.sealedSize, Lsn.format(coveredBelow.get(i)));
            }
            fsyncDirectory();
            learnFirstUnitKeys();
        }
    }

    /**
     * Bytes that {@link #releaseUpTo} would free for {@code lsn} if no reader pinned anything: a
     * dry run, for deciding whether losing a slot would help at all.
     */
    public long releasableBytes(long lsn) {
        lock.lock();
        try {
            long durableSeq = durable.seq();
            long bytes = 0;
            for (int i = 0; i + 1 < segments.size(); i++) {
                Segment s = segments.get(i);
                Segment next = segments.get(i + 1);
                if (s.seq() >= durableSeq || Lsn.compare(next.header.prevLastKey(), lsn) >= 0) {
                    break;
                }
                bytes += s.sealedSize;
            }
            return bytes;
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ readers

    /**
     * A reader positioned at the first transaction whose commit LSN (Begin's final_lsn) is
     * {@code >= fromLsn} (or the first non-transactional message at or after it). It already
     * knows every Relation and Type defined before that position. When nothing at or after
     * {@code fromLsn} is durable yet, it waits there for it.
     *
     * @throws ChangelogPositionLostException when a transaction with commit LSN {@code >= fromLsn}
     *         was released
     */
    public ChangelogReader openReader(long fromLsn) throws IOException {
        Segment start;
        lock.lock();
        try {
            if (closed) {
                throw new ChangelogClosedException("changelog is closed");
            }
            long released = segments.get(0).header.prevLastKey();
            if (released != 0 && Lsn.compare(fromLsn, released) <= 0) {
                throw new ChangelogPositionLostException(fromLsn, released, startLsn());
            }
            Durable d = durable;
            start = segments.get(0);
            for (Segment s : segments) {
                if (s.seq() > d.seq() || Lsn.compare(s.firstKey(), fromLsn) >= 0) {
                    break;
                }
                start = s;
            }
            pin(start.seq());
        } finally {
            lock.unlock();
        }
        ChangelogReader reader = null;
        try {
            reader = new ChangelogReader(this, start, fromLsn);
            reader.positionAtStart();
            return reader;
        } catch (IOException | RuntimeException e) {
            if (reader != null) {
                reader.close();
            } else {
                unpin(start.seq());
            }
            throw e;
        }
    }

    // ------------------------------------------------------------------ package-private, for readers

    ChangelogOptions options() {
        return options;
    }

    Durable durable() {
        return durable;
    }

    void checkOpen() throws ChangelogClosedException {
        if (closed) {
            throw new ChangelogClosedException("changelog is closed");
        }
    }

    /** Waits until the durable boundary moves past {@code seen}; false at the deadline. */
    boolean awaitChange(Durable seen, long deadlineNanos) throws InterruptedException, ChangelogClosedException {
        lock.lock();
        try {
            while (durable == seen) {
                if (closed) {
                    throw new ChangelogClosedException("changelog is closed");
                }
                long nanos = deadlineNanos - System.nanoTime();
                if (nanos <= 0) {
                    return false;
                }
                advanced.awaitNanos(nanos);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** The segment after {@code from}, pinned; {@code from} is unpinned. */
    Segment advance(Segment from) throws ChangelogCorruptException {
        lock.lock();
        try {
            Segment next = null;
            for (Segment s : segments) {
                if (s.seq() == from.seq() + 1) {
                    next = s;
                    break;
                }
            }
            if (next == null) {
                throw new ChangelogCorruptException("changelog segment after " + from + " is missing");
            }
            pin(next.seq());
            unpinLocked(from.seq());
            return next;
        } finally {
            lock.unlock();
        }
    }

    void unpin(long seq) {
        lock.lock();
        try {
            unpinLocked(seq);
        } finally {
            lock.unlock();
        }
    }

    private void pin(long seq) {
        pins.merge(seq, 1, Integer::sum);
    }

    private void unpinLocked(long seq) {
        pins.computeIfPresent(seq, (k, n) -> n == 1 ? null : n - 1);
    }

    /** Number of reader pins, for tests. */
    int pinCount() {
        lock.lock();
        try {
            return pins.values().stream().mapToInt(Integer::intValue).sum();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Test hook: ends this instance like a killed process would: the write buffer is lost, what
     * was handed to the OS stays, nothing is fsynced or logged.
     */
    void simulateCrash() throws IOException {
        writeBuffer.clear();
        lock.lock();
        try {
            closed = true;
            advanced.signalAll();
        } finally {
            lock.unlock();
        }
        channel.close();
    }

    // ------------------------------------------------------------------ internals

    private boolean isDuplicate(long key) {
        return lastKey != 0 && Lsn.compare(key, lastKey) <= 0;
    }

    private void noteSkipped(long key) {
        skippedUnits++;
        skippedLastKey = key;
    }

    /** One line for a run of re-sent transactions, when the first new one arrives. */
    private void reportSkipped() {
        if (skippedUnits > 0) {
            log.info("changelog: skipped {} re-sent transaction(s) up to commit LSN {} that it already holds",
                    skippedUnits, Lsn.format(skippedLastKey));
            skippedUnits = 0;
        }
    }

    private static void requireLength(ByteBuffer msg, int min, String what) {
        if (msg.remaining() < min) {
            throw new IllegalArgumentException("malformed pgoutput " + what + " message: " + msg.remaining()
                    + " bytes, expected at least " + min);
        }
    }

    private void noteUnitStart(long key) {
        Long first = current.firstUnitKey;
        if (first == null || first == 0) {
            current.firstUnitKey = key;
        }
    }

    private void completeUnit(long key) {
        lastKey = key;
        committedSegment = current;
        committedOffset = writePos;
    }

    /**
     * Frames and buffers one record, switching segments first when it would not fit. Returns the
     * record's offset in the (possibly new) current segment.
     */
    private long writeRecord(long lsn, ByteBuffer msg, boolean midTransaction, long unitKey) throws IOException {
        long frame = RecordFormat.FRAME_BYTES + (long) msg.remaining();
        if (writePos > current.recordsStart() && writePos + frame > options.segmentBytes()) {
            switchSegment(midTransaction, unitKey);
        }
        long start = writePos;
        putFrame(lsn, msg);
        currentBytes = writePos;
        return start;
    }

    private void putFrame(long lsn, ByteBuffer msg) throws IOException {
        int length = msg.remaining();
        int frame = RecordFormat.FRAME_BYTES + length;
        int crc = RecordFormat.crc(lsn, msg);
        if (frame <= writeBuffer.capacity()) {
            if (writeBuffer.remaining() < frame) {
                flushBuffer();
            }
            writeBuffer.putInt(length).putInt(crc).putLong(lsn).put(msg.duplicate());
        } else {
            flushBuffer();
            ByteBuffer header = ByteBuffer.allocate(RecordFormat.FRAME_BYTES).putInt(length).putInt(crc).putLong(lsn);
            writeFully(header.flip());
            writeFully(msg.duplicate());
        }
        writePos += frame;
    }

    private void switchSegment(boolean midTransaction, long firstKey) throws IOException {
        flushBuffer();
        channel.force(false);
        unforced = false;
        channel.close();
        Segment old = current;
        long oldSize = writePos;

        Definitions defs = committed.copy();
        defs.putAll(pending);
        List<Definitions.Definition> all = new ArrayList<>(defs.types.size() + defs.relations.size());
        all.addAll(new TreeMap<>(defs.types).values());
        all.addAll(new TreeMap<>(defs.relations).values());
        long defBytes = 0;
        for (Definitions.Definition d : all) {
            defBytes += RecordFormat.FRAME_BYTES + d.message().length;
        }
        RecordFormat.SegmentHeader header = new RecordFormat.SegmentHeader(
                midTransaction ? RecordFormat.FLAG_STARTS_MID_TRANSACTION : 0, old.seq() + 1, firstKey,
                midTransaction ? txnKey : lastKey, endLsn, all.size(), defBytes);
        Path path = dir.resolve(RecordFormat.segmentFileName(header.seq(), firstKey));
        channel = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        flushedPos = 0;
        writePos = 0;
        writeBuffer.put(header.encode());
        writePos = RecordFormat.SEGMENT_HEADER_BYTES;
        for (Definitions.Definition d : all) {
            putFrame(d.lsn(), ByteBuffer.wrap(d.message()));
        }
        Segment next = new Segment(path, header);
        next.firstUnitKey = 0L;
        old.sealedSize = oldSize;
        lock.lock();
        try {
            segments.add(next);
            sealedBytes += oldSize;
            segmentCount = segments.size();
        } finally {
            lock.unlock();
        }
        current = next;
        currentBytes = writePos;
        directoryDirty = true;
        log.info("changelog: created segment {} after {} bytes in {} ({} relation/type definition(s) in its header{})",
                next, oldSize, old, all.size(), midTransaction ? ", continues the transaction with commit LSN "
                        + Lsn.format(txnKey) : "");
    }

    private void flushBuffer() throws IOException {
        if (writeBuffer.position() == 0) {
            return;
        }
        writeBuffer.flip();
        writeFully(writeBuffer);
        writeBuffer.clear();
    }

    private void writeFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            flushedPos += channel.write(b, flushedPos);
        }
        unforced = true;
    }

    private void fsyncDirectory() throws IOException {
        fsyncDirectory(dir);
    }

    static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    private void checkWritable() throws IOException {
        if (closed) {
            throw new ChangelogClosedException("changelog is closed");
        }
        if (failure != null) {
            throw new IOException("changelog writer failed earlier; close and reopen the changelog to recover", failure);
        }
    }

    private IOException fail(IOException e) {
        failure = e;
        log.error("changelog writer failed, no further writes until it is reopened: {}", e.toString());
        return e;
    }

    /**
     * Makes sure the leading segments know where their first transaction begins, up to the first
     * that has one (for {@link #startLsn()}); segments found at open are scanned once when they
     * become the oldest. Sealed segments never change, so this is safe next to the writer.
     */
    private void learnFirstUnitKeys() throws IOException {
        List<Segment> snapshot;
        lock.lock();
        try {
            snapshot = new ArrayList<>(segments);
        } finally {
            lock.unlock();
        }
        for (Segment s : snapshot) {
            Long key = s.firstUnitKey;
            if (key == null) {
                key = SegmentScan.scan(s, options).firstUnitKey;
                s.firstUnitKey = key;
            }
            if (key != 0) {
                return;
            }
        }
    }

    @Override
    public String toString() {
        return "Changelog[" + dir + ", " + segmentCount + " segments, end " + Lsn.format(endLsn) + ", durable "
                + Lsn.format(durable.endLsn()) + "]";
    }

    /** Directory listing of segment files, sorted by sequence number. */
    static TreeMap<Long, Path> listSegments(Path dir) throws IOException {
        TreeMap<Long, Path> files = new TreeMap<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, "*.seg")) {
            for (Path p : stream) {
                long seq = RecordFormat.parseSegmentSeq(p.getFileName().toString());
                if (seq >= 0) {
                    files.put(seq, p);
                } else {
                    log.warn("changelog: ignoring {}: not a segment file name", p);
                }
            }
        }
        return files;
    }

}
