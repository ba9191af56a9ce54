package io.pgrelay.changelog;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;

/**
 * One pass over a segment file from its start, validating every record (length bounds, CRC) and
 * following transaction structure. Used by recovery (to find the torn tail and the last
 * transaction boundary, and the writer's state there) and to learn where the first transaction
 * begins in a segment found at open.
 */
final class SegmentScan {

    /** End of the last valid record (the whole file when {@link #invalidReason} is null). */
    long validEnd;
    /** Why the scan stopped before the end of the file; null when every byte was valid. */
    String invalidReason;
    /** True when the header block itself is invalid (a segment whose creation was torn). */
    boolean badHeaderBlock;
    /** Offset just after the last complete transaction (or records start); -1 when there is none. */
    long boundary = -1;
    /** Definitions in effect at {@link #boundary}. */
    Definitions definitions;
    /** Commit LSN of the last complete transaction at {@link #boundary} (header's prevLastKey when none). */
    long lastKey;
    /** End LSN of the last complete transaction at {@link #boundary}. */
    long endLsn;
    /** First transaction beginning before {@link #boundary}; 0 when none. */
    long firstUnitKeyBeforeBoundary;
    /** First transaction beginning anywhere in the valid part; 0 when none. */
    long firstUnitKey;

    private SegmentScan() {}

    static SegmentScan scan(Segment segment, ChangelogOptions options) throws IOException {
        try (FileChannel ch = FileChannel.open(segment.path, StandardOpenOption.READ)) {
            return scan(segment, ch, ch.size(), options);
        }
    }

    static SegmentScan scan(Segment segment, FileChannel ch, long fileSize, ChangelogOptions options)
            throws IOException {
        RecordFormat.SegmentHeader header = segment.header;
        SegmentScan s = new SegmentScan();
        s.definitions = new Definitions();
        RecordInput in = new RecordInput(ch, options.readBufferBytes(), options.maxRecordBytes(),
                RecordFormat.SEGMENT_HEADER_BYTES);
        long recordsStart = header.recordsStart();
        if (recordsStart > fileSize) {
            s.badHeaderBlock = true;
            s.invalidReason = "header block ends at " + recordsStart + " beyond the file size " + fileSize;
            return s;
        }
        for (int i = 0; i < header.definitionCount(); i++) {
            int st = in.readFrame(recordsStart);
            byte[] payload = st == RecordInput.RECORD ? in.readPayload() : null;
            if (payload == null || payload.length < RecordFormat.DEFINITION_MIN_BYTES
                    || !Definitions.isDefinition(payload[0])) {
                s.badHeaderBlock = true;
                s.invalidReason = "bad definition record " + i + " in the header block at offset " + in.recordStart();
                return s;
            }
            s.definitions.put(in.lsn(), payload);
        }
        if (in.position() != recordsStart) {
            s.badHeaderBlock = true;
            s.invalidReason = "header block size mismatch";
            return s;
        }

        Definitions pending = new Definitions();
        boolean inTxn = header.startsMidTransaction();
        long txnKey = inTxn ? header.firstKey() : 0;
        s.lastKey = header.prevLastKey();
        s.endLsn = header.prevEndLsn();
        if (!inTxn) {
            s.boundary = recordsStart;
        }
        s.validEnd = recordsStart;
        while (true) {
            int st = in.readFrame(fileSize);
            if (st == RecordInput.END) {
                break;
            }
            if (st != RecordInput.RECORD) {
                s.invalidReason = st == RecordInput.BAD_LENGTH
                        ? "length field " + in.length() + " out of range at offset " + in.recordStart()
                        : "record at offset " + in.recordStart() + " is cut short by the end of the file";
                break;
            }
            byte type = in.type();
            byte[] head = in.head();
            int length = in.length();
            long recordLsn = in.lsn();
            byte[] payload = null;
            boolean ok;
            if (inTxn && Definitions.isDefinition(type)) {
                payload = in.readPayload();
                ok = payload != null;
            } else {
                ok = in.skipPayload();
            }
            if (!ok) {
                s.invalidReason = "CRC mismatch in record at offset " + in.recordStart();
                break;
            }
            s.validEnd = in.position();
            if (!inTxn) {
                if (type == RecordFormat.BEGIN && length >= RecordFormat.BEGIN_BYTES) {
                    inTxn = true;
                    txnKey = RecordFormat.getLong(head, 1);
                    if (s.firstUnitKey == 0) {
                        s.firstUnitKey = txnKey;
                    }
                } else if (type == RecordFormat.MESSAGE && length >= RecordFormat.MESSAGE_MIN_BYTES) {
                    long key = RecordFormat.getLong(head, 2);
                    if (s.firstUnitKey == 0) {
                        s.firstUnitKey = key;
                    }
                    s.lastKey = key;
                    s.boundary = in.position();
                    s.firstUnitKeyBeforeBoundary = s.firstUnitKey;
                } else {
                    throw new ChangelogCorruptException("changelog segment " + segment + ": record '" + (char) type
                            + "' at offset " + in.recordStart() + " outside a transaction");
                }
            } else if (type == RecordFormat.COMMIT && length >= RecordFormat.COMMIT_BYTES) {
                inTxn = false;
                s.definitions.putAll(pending);
                pending.clear();
                s.lastKey = txnKey;
                s.endLsn = RecordFormat.getLong(head, 10);
                s.boundary = in.position();
                s.firstUnitKeyBeforeBoundary = s.firstUnitKey;
            } else if (type == RecordFormat.BEGIN || type == RecordFormat.COMMIT) {
                throw new ChangelogCorruptException("changelog segment " + segment + ": unexpected '" + (char) type
                        + "' at offset " + in.recordStart() + " inside the transaction with commit LSN "
                        + Lsn.format(txnKey));
            } else if (payload != null) {
                if (payload.length < RecordFormat.DEFINITION_MIN_BYTES) {
                    throw new ChangelogCorruptException("changelog segment " + segment + ": short '" + (char) type
                            + "' message at offset " + in.recordStart());
                }
                pending.put(recordLsn, payload);
            }
        }
        return s;
    }
}
