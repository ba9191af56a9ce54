package io.pgrelay.decode;

import io.pgrelay.decode.PgOutputMessage.Begin;
import io.pgrelay.decode.PgOutputMessage.Column;
import io.pgrelay.decode.PgOutputMessage.Commit;
import io.pgrelay.decode.PgOutputMessage.Delete;
import io.pgrelay.decode.PgOutputMessage.Insert;
import io.pgrelay.decode.PgOutputMessage.LogicalMessage;
import io.pgrelay.decode.PgOutputMessage.OldTupleKind;
import io.pgrelay.decode.PgOutputMessage.Origin;
import io.pgrelay.decode.PgOutputMessage.Relation;
import io.pgrelay.decode.PgOutputMessage.ReplicaIdentity;
import io.pgrelay.decode.PgOutputMessage.Truncate;
import io.pgrelay.decode.PgOutputMessage.Type;
import io.pgrelay.decode.PgOutputMessage.Update;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.postgresql.replication.LogSequenceNumber;

/**
 * Turns the bytes of one pgoutput message into a {@link PgOutputMessage}.
 *
 * <p>Pure: no I/O, no catalog, no state between calls. Tuples are self-describing in pgoutput,
 * so decoding them needs no relation metadata; matching them to their {@link Relation} is the
 * consumer's job. Every length is checked against the bytes present before anything is
 * allocated, so malformed input fails with {@link MalformedMessageException}, never with an
 * out-of-memory error.
 *
 * <p>Protocol version 1 is implemented. Versions 2–4 add an xid to messages inside streamed
 * transactions and new message types (stream start/stop/commit/abort, two-phase); they would
 * extend {@link #decode} with the stream-block state rather than change the existing records.
 */
public final class PgOutputDecoder {

    /** Microseconds between the Unix epoch and PostgreSQL's epoch, 2000-01-01. */
    private static final long PG_EPOCH_OFFSET_SECONDS = 946_684_800L;
    private static final int CASCADE = 1;
    private static final int RESTART_IDENTITY = 2;
    private static final int TRANSACTIONAL = 1;

    /** Decodes the message in {@code buffer} from its position to its limit. */
    public PgOutputMessage decode(ByteBuffer buffer) {
        ByteBuffer in = buffer.slice();
        if (!in.hasRemaining()) {
            throw new MalformedMessageException("empty pgoutput message");
        }
        byte type = in.get();
        try {
            PgOutputMessage message = decodeBody(type, in);
            if (in.hasRemaining()) {
                throw new MalformedMessageException(in.remaining() + " trailing bytes after pgoutput message '" + (char) type + "'");
            }
            return message;
        } catch (BufferUnderflowException e) {
            throw new MalformedMessageException("pgoutput message '" + (char) type + "' is truncated", e);
        }
    }

    private PgOutputMessage decodeBody(byte type, ByteBuffer in) {
        return switch (type) {
            case 'B' -> new Begin(lsn(in), timestamp(in), in.getInt());
            case 'C' -> new Commit(in.get(), lsn(in), lsn(in), timestamp(in));
            case 'O' -> new Origin(lsn(in), string(in));
            case 'R' -> relation(in);
            case 'Y' -> new Type(in.getInt(), string(in), string(in));
            case 'I' -> insert(in);
            case 'U' -> update(in);
            case 'D' -> delete(in);
            case 'T' -> truncate(in);
            case 'M' -> logicalMessage(in);
            default -> throw new MalformedMessageException(
                    "unsupported pgoutput message type '" + printable(type) + "' for protocol version 1");
        };
    }

    private static Relation relation(ByteBuffer in) {
        int relationId = in.getInt();
        String namespace = string(in);
        String name = string(in);
        ReplicaIdentity identity = ReplicaIdentity.of(in.get());
        int count = unsignedShort(in);
        // Each column takes at least 10 bytes: refuse a count the message cannot hold.
        requireRemaining(in, (long) count * 10, "relation column list");
        List<Column> columns = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            boolean key = (in.get() & 1) != 0;
            columns.add(new Column(string(in), in.getInt(), in.getInt(), key));
        }
        return new Relation(relationId, namespace, name, identity, columns);
    }

    private static Insert insert(ByteBuffer in) {
        int relationId = in.getInt();
        expect(in, 'N', "Insert");
        return new Insert(relationId, tuple(in));
    }

    private static Update update(ByteBuffer in) {
        int relationId = in.getInt();
        byte marker = in.get();
        OldTupleKind oldKind = OldTupleKind.NONE;
        TupleData oldTuple = null;
        if (marker == 'K' || marker == 'O') {
            oldKind = marker == 'K' ? OldTupleKind.KEY : OldTupleKind.FULL;
            oldTuple = tuple(in);
            marker = in.get();
        }
        if (marker != 'N') {
            throw new MalformedMessageException("Update: expected 'N' before the new tuple, got '" + printable(marker) + "'");
        }
        return new Update(relationId, oldKind, oldTuple, tuple(in));
    }

    private static Delete delete(ByteBuffer in) {
        int relationId = in.getInt();
        byte marker = in.get();
        if (marker != 'K' && marker != 'O') {
            throw new MalformedMessageException("Delete: expected 'K' or 'O', got '" + printable(marker) + "'");
        }
        return new Delete(relationId, marker == 'K' ? OldTupleKind.KEY : OldTupleKind.FULL, tuple(in));
    }

    private static Truncate truncate(ByteBuffer in) {
        int count = in.getInt();
        int options = in.get();
        if (count < 0) {
            throw new MalformedMessageException("Truncate: negative relation count " + count);
        }
        requireRemaining(in, (long) count * 4, "truncate relation list");
        List<Integer> relationIds = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            relationIds.add(in.getInt());
        }
        return new Truncate(relationIds, (options & CASCADE) != 0, (options & RESTART_IDENTITY) != 0);
    }

    private static LogicalMessage logicalMessage(ByteBuffer in) {
        boolean transactional = (in.get() & TRANSACTIONAL) != 0;
        LogSequenceNumber lsn = lsn(in);
        String prefix = string(in);
        byte[] content = new byte[length(in, "message content")];
        in.get(content);
        return new LogicalMessage(transactional, lsn, prefix, content);
    }

    private static TupleData tuple(ByteBuffer in) {
        int count = unsignedShort(in);
        requireRemaining(in, count, "tuple column list");
        TupleData.Kind[] kinds = new TupleData.Kind[count];
        Object[] values = new Object[count];
        for (int i = 0; i < count; i++) {
            byte kind = in.get();
            switch (kind) {
                case 'n' -> kinds[i] = TupleData.Kind.NULL;
                case 'u' -> kinds[i] = TupleData.Kind.UNCHANGED_TOAST;
                case 't' -> {
                    kinds[i] = TupleData.Kind.TEXT;
                    values[i] = utf8(in, length(in, "text value"));
                }
                case 'b' -> {
                    kinds[i] = TupleData.Kind.BINARY;
                    byte[] bytes = new byte[length(in, "binary value")];
                    in.get(bytes);
                    values[i] = bytes;
                }
                default -> throw new MalformedMessageException(
                        "unknown tuple column kind '" + printable(kind) + "' in column " + (i + 1));
            }
        }
        return new TupleData(kinds, values);
    }

    private static void expect(ByteBuffer in, char marker, String message) {
        byte actual = in.get();
        if (actual != marker) {
            throw new MalformedMessageException(message + ": expected '" + marker + "', got '" + printable(actual) + "'");
        }
    }

    /** A 32-bit length that must fit in what is left of the message. */
    private static int length(ByteBuffer in, String what) {
        int length = in.getInt();
        if (length < 0) {
            throw new MalformedMessageException("negative length " + length + " of " + what);
        }
        requireRemaining(in, length, what);
        return length;
    }

    private static void requireRemaining(ByteBuffer in, long needed, String what) {
        if (needed > in.remaining()) {
            throw new MalformedMessageException(what + " needs " + needed + " bytes but only " + in.remaining() + " remain");
        }
    }

    private static int unsignedShort(ByteBuffer in) {
        return Short.toUnsignedInt(in.getShort());
    }

    private static LogSequenceNumber lsn(ByteBuffer in) {
        return LogSequenceNumber.valueOf(in.getLong());
    }

    private static Instant timestamp(ByteBuffer in) {
        long micros = in.getLong();
        return Instant.ofEpochSecond(PG_EPOCH_OFFSET_SECONDS + Math.floorDiv(micros, 1_000_000L),
                Math.floorMod(micros, 1_000_000L) * 1_000L);
    }

    /** A NUL-terminated string in the client encoding, which pgrelay always sets to UTF8. */
    private static String string(ByteBuffer in) {
        int start = in.position();
        int end = start;
        while (end < in.limit() && in.get(end) != 0) {
            end++;
        }
        if (end == in.limit()) {
            throw new MalformedMessageException("string at offset " + start + " is not NUL-terminated");
        }
        String value = utf8(in, end - start);
        in.get(); // the NUL
        return value;
    }

    private static String utf8(ByteBuffer in, int length) {
        String value;
        if (in.hasArray()) {
            value = new String(in.array(), in.arrayOffset() + in.position(), length, StandardCharsets.UTF_8);
            in.position(in.position() + length);
        } else {
            byte[] bytes = new byte[length];
            in.get(bytes);
            value = new String(bytes, StandardCharsets.UTF_8);
        }
        return value;
    }

    private static String printable(byte b) {
        return b >= 0x20 && b < 0x7f ? String.valueOf((char) b) : String.format("0x%02x", b);
    }
}
