package io.pgrelay.changelog;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * On-disk layout constants and codecs; see {@link Changelog} for the format description. All
 * integers are big-endian.
 */
final class RecordFormat {
    private RecordFormat() {}

    /** {@code [int32 length][int32 crc32c][int64 lsn]}, then {@code length} payload bytes. */
    static final int FRAME_BYTES = 16;

    /** Bytes of a payload's start that readers always look at (type byte and fixed fields). */
    static final int HEAD_BYTES = 32;

    static final int SEGMENT_HEADER_BYTES = 64;
    static final byte[] MAGIC = "PGRLCLOG".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    static final int FLAG_STARTS_MID_TRANSACTION = 1;

    private static final Pattern SEGMENT_NAME = Pattern.compile("([0-9A-F]{16})-([0-9A-F]{16})\\.seg");

    // pgoutput message types and fixed offsets (protocol version 1)
    static final byte BEGIN = 'B';
    static final byte COMMIT = 'C';
    static final byte RELATION = 'R';
    static final byte TYPE = 'Y';
    static final byte MESSAGE = 'M';
    /** 'B' int64 final_lsn, int64 commit_time, int32 xid. */
    static final int BEGIN_BYTES = 21;
    /** 'C' int8 flags, int64 commit_lsn, int64 end_lsn, int64 commit_time. */
    static final int COMMIT_BYTES = 26;
    /** 'M' int8 flags, int64 lsn, ... */
    static final int MESSAGE_MIN_BYTES = 10;
    /** 'R' int32 relation id ... / 'Y' int32 type oid ... */
    static final int DEFINITION_MIN_BYTES = 5;

    static String segmentFileName(long seq, long firstKey) {
        return String.format("%016X-%016X.seg", seq, firstKey);
    }

    /** The sequence number in a segment file name, or -1 when the name is not a segment's. */
    static long parseSegmentSeq(String fileName) {
        Matcher m = SEGMENT_NAME.matcher(fileName);
        return m.matches() ? Long.parseUnsignedLong(m.group(1), 16) : -1;
    }

    static long parseSegmentKey(String fileName) {
        Matcher m = SEGMENT_NAME.matcher(fileName);
        if (!m.matches()) {
            throw new IllegalArgumentException(fileName);
        }
        return Long.parseUnsignedLong(m.group(2), 16);
    }

    /** CRC-32C over the lsn (8 bytes, big-endian) followed by the payload. */
    static int crc(long lsn, ByteBuffer payload) {
        CRC32C crc = new CRC32C();
        crc.update(lsnBytes(lsn));
        crc.update(payload.duplicate());
        return (int) crc.getValue();
    }

    static byte[] lsnBytes(long lsn) {
        byte[] b = new byte[8];
        for (int i = 7; i >= 0; i--) {
            b[i] = (byte) lsn;
            lsn >>>= 8;
        }
        return b;
    }

    static long getLong(byte[] b, int off) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (b[off + i] & 0xFF);
        }
        return v;
    }

    static int getInt(byte[] b, int off) {
        return ((b[off] & 0xFF) << 24) | ((b[off + 1] & 0xFF) << 16) | ((b[off + 2] & 0xFF) << 8) | (b[off + 3] & 0xFF);
    }

    /**
     * The fixed 64-byte header at the start of every segment file, followed by
     * {@code definitionCount} framed Relation/Type records ({@code definitionBytes} in all).
     *
     * @param flags           bit 0: the first record continues a transaction begun in the previous segment
     * @param seq             segment sequence number (also in the file name)
     * @param firstKey        commit LSN of the transaction (or position of the non-transactional
     *                        message) the segment's first record belongs to; a lower bound for every
     *                        transaction in the segment (also in the file name)
     * @param prevLastKey     commit LSN of the last transaction with records in earlier segments, 0 if none
     * @param prevEndLsn      end LSN of the last complete transaction before this segment, 0 if none
     * @param definitionCount Relation and Type messages in the header block
     * @param definitionBytes size of the header block
     */
    record SegmentHeader(int flags, long seq, long firstKey, long prevLastKey, long prevEndLsn, int definitionCount,
                         long definitionBytes) {

        boolean startsMidTransaction() {
            return (flags & FLAG_STARTS_MID_TRANSACTION) != 0;
        }

        long recordsStart() {
            return SEGMENT_HEADER_BYTES + definitionBytes;
        }

        ByteBuffer encode() {
            ByteBuffer b = ByteBuffer.allocate(SEGMENT_HEADER_BYTES);
            b.put(MAGIC).putInt(VERSION).putInt(flags).putLong(seq).putLong(firstKey).putLong(prevLastKey)
                    .putLong(prevEndLsn).putInt(definitionCount).putLong(definitionBytes);
            CRC32C crc = new CRC32C();
            crc.update(b.array(), 0, b.position());
            b.putInt((int) crc.getValue());
            return b.flip();
        }

        /** Decodes a header; null when it is not a valid one (torn, foreign, damaged). */
        static SegmentHeader decode(ByteBuffer b) {
            if (b.remaining() < SEGMENT_HEADER_BYTES) {
                return null;
            }
            byte[] h = new byte[SEGMENT_HEADER_BYTES];
            b.get(h);
            for (int i = 0; i < MAGIC.length; i++) {
                if (h[i] != MAGIC[i]) {
                    return null;
                }
            }
            CRC32C crc = new CRC32C();
            crc.update(h, 0, 60);
            if ((int) crc.getValue() != getInt(h, 60) || getInt(h, 8) != VERSION) {
                return null;
            }
            long defBytes = getLong(h, 52);
            int defCount = getInt(h, 48);
            if (defBytes < 0 || defCount < 0) {
                return null;
            }
            return new SegmentHeader(getInt(h, 12), getLong(h, 16), getLong(h, 24), getLong(h, 32), getLong(h, 40),
                    defCount, defBytes);
        }
    }
}
