package io.pgrelay.changelog;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * Sequential, buffered reading of framed records from one segment file, never past a caller's
 * limit: bytes beyond the limit may still change (the writer truncates undurable tails), so they
 * are never read, not even into the buffer. Memory: one buffer of {@code bufferBytes}, plus the
 * payload array when a caller asks for a payload larger than that. A length field is checked
 * against the maximum record size and the limit before anything is allocated.
 *
 * <p>Usage: {@link #readFrame(long)}; when it answers {@link #RECORD}, look at {@link #lsn()},
 * {@link #length()}, {@link #type()} and {@link #head()}, then consume the payload with exactly
 * one of {@link #readPayload()} or {@link #skipPayload()}, which verify the CRC.
 */
final class RecordInput {

    /** A complete frame header and payload head are available. */
    static final int RECORD = 0;
    /** The position is exactly at the limit. */
    static final int END = 1;
    /** A frame or payload reaches past the limit (or past the end of the file). */
    static final int SHORT = 2;
    /** The length field is zero, negative or larger than the maximum record size. */
    static final int BAD_LENGTH = 3;

    private final FileChannel channel;
    private final byte[] buf;
    private final int maxRecordBytes;
    private long bufStart;
    private int bufLen;
    private long pos;
    private long limit;

    private long recordStart;
    private int length;
    private int crc;
    private long lsn;
    private final byte[] head = new byte[RecordFormat.HEAD_BYTES];

    RecordInput(FileChannel channel, int bufferBytes, int maxRecordBytes, long position) {
        this.channel = channel;
        this.buf = new byte[Math.max(bufferBytes, RecordFormat.FRAME_BYTES + RecordFormat.HEAD_BYTES)];
        this.maxRecordBytes = maxRecordBytes;
        this.pos = position;
        this.bufStart = position;
    }

    /** File offset of the next frame (after a payload was consumed) or of the current frame. */
    long position() {
        return pos;
    }

    /** File offset where the current (or last) frame starts. */
    long recordStart() {
        return recordStart;
    }

    long lsn() {
        return lsn;
    }

    int length() {
        return length;
    }

    byte type() {
        return head[0];
    }

    /** The first {@code min(length, HEAD_BYTES)} payload bytes; valid until the next frame. */
    byte[] head() {
        return head;
    }


    /** Reads the frame at the current position, without reading at or past {@code limit}. */
    int readFrame(long limit) throws IOException {
        this.limit = limit;
        recordStart = pos;
        if (pos >= limit) {
            return END;
        }
        long available = limit - pos;
        if (available < RecordFormat.FRAME_BYTES || fill(RecordFormat.FRAME_BYTES) < RecordFormat.FRAME_BYTES) {
            return SHORT;
        }
        int p = (int) (pos - bufStart);
        length = RecordFormat.getInt(buf, p);
        crc = RecordFormat.getInt(buf, p + 4);
        lsn = RecordFormat.getLong(buf, p + 8);
        if (length <= 0 || length > maxRecordBytes) {
            return BAD_LENGTH;
        }
        if (available - RecordFormat.FRAME_BYTES < length) {
            return SHORT;
        }
        int headLength = Math.min(length, RecordFormat.HEAD_BYTES);
        if (fill(RecordFormat.FRAME_BYTES + headLength) < RecordFormat.FRAME_BYTES + headLength) {
            return SHORT;
        }
        p = (int) (pos - bufStart);
        java.util.Arrays.fill(head, (byte) 0);
        System.arraycopy(buf, p + RecordFormat.FRAME_BYTES, head, 0, headLength);
        return RECORD;
    }

    /** The whole payload of the current frame; null when its CRC does not match or the file is short. */
    byte[] readPayload() throws IOException {
        pos = recordStart + RecordFormat.FRAME_BYTES;
        byte[] out = new byte[length];
        if (length <= buf.length) {
            if (fill(length) < length) {
                return null;
            }
            System.arraycopy(buf, (int) (pos - bufStart), out, 0, length);
        } else {
            int buffered = (int) Math.max(0, Math.min(length, bufStart + bufLen - pos));
            if (buffered > 0) {
                System.arraycopy(buf, (int) (pos - bufStart), out, 0, buffered);
            }
            int done = buffered;
            while (done < length) {
                int n = channel.read(ByteBuffer.wrap(out, done, length - done), pos + done);
                if (n < 0) {
                    return null;
                }
                done += n;
            }
        }
        pos += length;
        CRC32C c = new CRC32C();
        c.update(RecordFormat.lsnBytes(lsn));
        c.update(out);
        return (int) c.getValue() == crc ? out : null;
    }

    /** Consumes the payload without keeping it (streamed through the buffer); false on CRC mismatch. */
    boolean skipPayload() throws IOException {
        pos = recordStart + RecordFormat.FRAME_BYTES;
        CRC32C c = new CRC32C();
        c.update(RecordFormat.lsnBytes(lsn));
        long remaining = length;
        while (remaining > 0) {
            int want = (int) Math.min(remaining, buf.length);
            int have = fill(want);
            if (have <= 0) {
                return false;
            }
            int take = (int) Math.min(have, remaining);
            c.update(buf, (int) (pos - bufStart), take);
            pos += take;
            remaining -= take;
        }
        return (int) c.getValue() == crc;
    }

    /** Moves to an absolute offset (e.g. past a segment's header block). */
    void seek(long position) {
        pos = position;
    }

    /**
     * Makes up to {@code n} bytes from {@code pos} available in the buffer, reading ahead as far
     * as the buffer and the limit allow. Returns how many bytes from {@code pos} are buffered.
     */
    private int fill(int n) throws IOException {
        long end = bufStart + bufLen;
        if (pos < bufStart || pos > end) {
            bufStart = pos;
            bufLen = 0;
        } else if (pos + n > end && pos > bufStart) {
            int keep = (int) (end - pos);
            System.arraycopy(buf, (int) (pos - bufStart), buf, 0, keep);
            bufStart = pos;
            bufLen = keep;
        }
        long readable = Math.min(buf.length, limit - bufStart);
        while (bufLen < Math.min(n + (pos - bufStart), readable)) {
            int n2 = channel.read(ByteBuffer.wrap(buf, bufLen, (int) (readable - bufLen)), bufStart + bufLen);
            if (n2 < 0) {
                break;
            }
            bufLen += n2;
        }
        return (int) Math.max(0, Math.min(bufLen - (pos - bufStart), Integer.MAX_VALUE));
    }
}
