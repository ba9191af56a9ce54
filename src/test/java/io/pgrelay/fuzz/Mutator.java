package io.pgrelay.fuzz;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Seeded random mutations of valid inputs: the hostile variants a parser must survive. Byte-level
 * ({@link #mutate}) for single messages, frame-level ({@link #mutateSession}) for a client
 * session made of wire frames, so that mutations also hit lengths, types and message order.
 */
public final class Mutator {

    /** Lengths that break naive parsers: negative, zero, just past a limit, huge. */
    private static final int[] HOSTILE_INTS = {
        0, 1, 3, 4, 7, 8, -1, -4, Integer.MIN_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE - 3,
        10_000, 10_001, 1 << 20, (1 << 20) + 5, 1 << 30, 0x7fff, 0xffff, 65_536
    };
    private static final byte[] HOSTILE_BYTES = {0, -1, 0x7f, (byte) 0x80, '"', '\'', '(', ')', ',', ';', '\\', 'd', 'r', 'Q', 'X'};

    private final Random random;

    public Mutator(Random random) {
        this.random = random;
    }

    /** One to four byte-level mutations of {@code input}, spliced with {@code other} sometimes. */
    public byte[] mutate(byte[] input, byte[] other) {
        byte[] data = input.clone();
        int rounds = 1 + random.nextInt(4);
        for (int i = 0; i < rounds; i++) {
            data = mutateOnce(data, other);
        }
        return data;
    }

    private byte[] mutateOnce(byte[] data, byte[] other) {
        switch (random.nextInt(9)) {
            case 0: // flip one bit
                if (data.length > 0) {
                    data[random.nextInt(data.length)] ^= (byte) (1 << random.nextInt(8));
                }
                return data;
            case 1: // a hostile byte somewhere
                if (data.length > 0) {
                    data[random.nextInt(data.length)] = HOSTILE_BYTES[random.nextInt(HOSTILE_BYTES.length)];
                }
                return data;
            case 2: // truncate
                return java.util.Arrays.copyOf(data, data.length == 0 ? 0 : random.nextInt(data.length));
            case 3: // a hostile int (length field) at a random position
                if (data.length >= 4) {
                    ByteBuffer.wrap(data).putInt(random.nextInt(data.length - 3), HOSTILE_INTS[random.nextInt(HOSTILE_INTS.length)]);
                }
                return data;
            case 4: // splice: a prefix of this, a suffix of the other
                return concat(slice(data, 0, cut(data)), slice(other, cut(other), other.length));
            case 5: // insert random garbage
                return insert(data, randomBytes(1 + random.nextInt(32)));
            case 6: // delete a range
                return delete(data);
            case 7: // duplicate a range
                return duplicate(data);
            default: // random bytes over a range
                if (data.length > 0) {
                    int from = random.nextInt(data.length);
                    int to = Math.min(data.length, from + 1 + random.nextInt(16));
                    for (int i = from; i < to; i++) {
                        data[i] = (byte) random.nextInt(256);
                    }
                }
                return data;
        }
    }

    /**
     * A mutated client session. {@code frames} are complete wire frames in order (startup
     * packet first, then typed messages); some frames are dropped, duplicated, swapped, given a
     * wrong type or length, or have their body mutated; {@code others} supplies splice material.
     */
    public byte[] mutateSession(List<byte[]> frames, List<byte[]> others) {
        List<byte[]> out = new ArrayList<>(frames);
        int rounds = 1 + random.nextInt(3);
        for (int i = 0; i < rounds && !out.isEmpty(); i++) {
            int at = random.nextInt(out.size());
            byte[] frame = out.get(at);
            switch (random.nextInt(8)) {
                case 0 -> out.remove(at);
                case 1 -> out.add(at, frame);
                case 2 -> java.util.Collections.swap(out, at, random.nextInt(out.size()));
                case 3 -> out.set(at, withType(frame));
                case 4 -> out.set(at, withLength(frame, at == 0));
                case 5 -> out.add(at, others.get(random.nextInt(others.size())));
                case 6 -> out.set(at, oversizedCopyData(frame));
                default -> out.set(at, mutate(frame, others.get(random.nextInt(others.size()))));
            }
        }
        byte[] session = concat(out.toArray(new byte[0][]));
        return random.nextInt(8) == 0 ? mutate(session, session) : session;
    }

    /** A typed frame with another type byte (a startup packet's first byte is part of its length). */
    private byte[] withType(byte[] frame) {
        byte[] copy = frame.clone();
        if (copy.length > 0) {
            copy[0] = HOSTILE_BYTES[random.nextInt(HOSTILE_BYTES.length)];
        }
        return copy;
    }

    /** The frame with a hostile length field: it then claims more, or less, than it carries. */
    private byte[] withLength(byte[] frame, boolean startup) {
        byte[] copy = frame.clone();
        int at = startup ? 0 : 1;
        if (copy.length >= at + 4) {
            ByteBuffer.wrap(copy).putInt(at, HOSTILE_INTS[random.nextInt(HOSTILE_INTS.length)]);
        }
        return copy;
    }

    /** A CopyData frame whose body is garbage: a standby message of the wrong size or kind. */
    private byte[] oversizedCopyData(byte[] frame) {
        byte[] body = randomBytes(random.nextInt(64));
        if (body.length > 0 && random.nextBoolean()) {
            body[0] = (byte) (random.nextBoolean() ? 'r' : 'h');
        }
        return frame((byte) 'd', body);
    }

    public byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        random.nextBytes(bytes);
        return bytes;
    }

    /** A typed frame: type byte, int32 length (including itself), body. */
    public static byte[] frame(byte type, byte[] body) {
        return ByteBuffer.allocate(5 + body.length).put(type).putInt(4 + body.length).put(body).array();
    }

    private int cut(byte[] data) {
        return data.length == 0 ? 0 : random.nextInt(data.length + 1);
    }

    private byte[] insert(byte[] data, byte[] garbage) {
        int at = cut(data);
        return concat(slice(data, 0, at), garbage, slice(data, at, data.length));
    }

    private byte[] delete(byte[] data) {
        if (data.length == 0) {
            return data;
        }
        int from = random.nextInt(data.length);
        int to = Math.min(data.length, from + 1 + random.nextInt(Math.max(1, data.length / 4)));
        return concat(slice(data, 0, from), slice(data, to, data.length));
    }

    private byte[] duplicate(byte[] data) {
        if (data.length == 0) {
            return data;
        }
        int from = random.nextInt(data.length);
        int to = Math.min(data.length, from + 1 + random.nextInt(16));
        return concat(slice(data, 0, to), slice(data, from, data.length));
    }

    private static byte[] slice(byte[] data, int from, int to) {
        return java.util.Arrays.copyOfRange(data, from, to);
    }

    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }
}
