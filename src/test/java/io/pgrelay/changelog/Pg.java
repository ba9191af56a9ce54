package io.pgrelay.changelog;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/** Builds raw pgoutput messages and transactions with realistic LSNs, for changelog tests. */
final class Pg {

    /** One message as appended and as expected back. */
    record Rec(long lsn, byte[] bytes) {
        ByteBuffer buffer() {
            return ByteBuffer.wrap(bytes);
        }

        byte type() {
            return bytes[0];
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Rec r && r.lsn == lsn && Arrays.equals(r.bytes, bytes);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(lsn) * 31 + Arrays.hashCode(bytes);
        }

        @Override
        public String toString() {
            return "Rec[" + Lsn.format(lsn) + " '" + (char) bytes[0] + "' " + bytes.length + " bytes]";
        }
    }

    /** A transaction: Begin, the middle messages, Commit. */
    record Txn(long commitLsn, long endLsn, List<Rec> records) {
        Rec begin() {
            return records.get(0);
        }
    }

    private Pg() {}

    static byte[] begin(long finalLsn, int xid) {
        return ByteBuffer.allocate(21).put((byte) 'B').putLong(finalLsn).putLong(700_000_000_000_000L).putInt(xid).array();
    }

    static byte[] commit(long commitLsn, long endLsn) {
        return ByteBuffer.allocate(26).put((byte) 'C').put((byte) 0).putLong(commitLsn).putLong(endLsn)
                .putLong(700_000_000_000_000L).array();
    }

    /** A Relation message; {@code version} varies the column name so redefinitions differ. */
    static byte[] relation(int id, String name, int version) {
        byte[] ns = "public\0".getBytes(StandardCharsets.UTF_8);
        byte[] rel = (name + "\0").getBytes(StandardCharsets.UTF_8);
        byte[] col = ("c" + version + "\0").getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(1 + 4 + ns.length + rel.length + 1 + 2 + 1 + col.length + 8)
                .put((byte) 'R').putInt(id).put(ns).put(rel).put((byte) 'd').putShort((short) 1)
                .put((byte) 1).put(col).putInt(23).putInt(-1).array();
    }

    static byte[] type(int oid, String name) {
        byte[] ns = "public\0".getBytes(StandardCharsets.UTF_8);
        byte[] n = (name + "\0").getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(1 + 4 + ns.length + n.length).put((byte) 'Y').putInt(oid).put(ns).put(n).array();
    }

    /** An Insert whose tuple is one text column of {@code size} bytes (content from {@code seed}). */
    static byte[] insert(int relationId, int size, long seed) {
        ByteBuffer b = ByteBuffer.allocate(1 + 4 + 1 + 2 + 1 + 4 + size);
        b.put((byte) 'I').putInt(relationId).put((byte) 'N').putShort((short) 1).put((byte) 't').putInt(size);
        Random r = new Random(seed);
        byte[] v = new byte[size];
        r.nextBytes(v);
        return b.put(v).array();
    }

    /** A non-transactional logical message at {@code lsn}. */
    static byte[] logicalMessage(long lsn, String prefix, String content) {
        byte[] p = (prefix + "\0").getBytes(StandardCharsets.UTF_8);
        byte[] c = content.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(1 + 1 + 8 + p.length + 4 + c.length).put((byte) 'M').put((byte) 0).putLong(lsn)
                .put(p).putInt(c.length).put(c).array();
    }

    /**
     * Produces transactions with increasing commit LSNs. Like the walsender, a Begin carries the
     * transaction's first LSN, which may lie before the previous commit; changes follow it.
     */
    static final class Gen {
        private long lsn;
        private int xid = 1000;
        private long seed;

        Gen(long startLsn) {
            this.lsn = startLsn;
        }

        Gen() {
            this(0x1_0000_0000L);
        }

        /** A transaction with the given middle messages. */
        Txn txn(byte[]... middle) {
            long first = lsn - 0x800;  // earlier than the previous commit: not monotonic
            List<Rec> recs = new ArrayList<>();
            long commitLsn = lsn + 0x100L * (middle.length + 1);
            recs.add(new Rec(first, begin(commitLsn, xid++)));
            long l = lsn;
            for (byte[] m : middle) {
                l += 0x100;
                recs.add(new Rec(l, m));
            }
            long end = commitLsn + 0x38;
            recs.add(new Rec(end, commit(commitLsn, end)));
            lsn = end + 0x100;
            return new Txn(commitLsn, end, List.copyOf(recs));
        }

        /** A transaction of {@code changes} inserts of {@code size} bytes into relation 1. */
        Txn inserts(int changes, int size) {
            byte[][] m = new byte[changes][];
            for (int i = 0; i < changes; i++) {
                m[i] = insert(1, size, seed++);
            }
            return txn(m);
        }

        /** A non-transactional logical message, as a one-record "transaction". */
        Txn message(String content) {
            long at = lsn;
            lsn += 0x100;
            return new Txn(at, 0, List.of(new Rec(at, logicalMessage(at, "test", content))));
        }

        long nextLsn() {
            return lsn;
        }
    }

    static void append(Changelog log, Txn txn) throws IOException {
        for (Rec r : txn.records()) {
            log.append(r.lsn(), r.buffer());
        }
    }

    /** Segments small enough that a few dozen transactions span several. */
    static final ChangelogOptions SMALL_SEGMENTS = ChangelogOptions.defaults().withSegmentBytes(4096);

    /** {@code n} insert transactions: {@code 1 + i % rowSpread} rows of {@code size + i % sizeSpread} bytes. */
    static List<Txn> txns(Gen gen, int n, int rowSpread, int size, int sizeSpread) {
        List<Txn> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(gen.inserts(1 + i % rowSpread, size + i % sizeSpread));
        }
        return out;
    }

    static void appendAll(Changelog log, List<Txn> txns) throws IOException {
        for (Txn t : txns) {
            append(log, t);
        }
    }

    static List<Rec> records(List<Txn> txns) {
        List<Rec> all = new ArrayList<>();
        for (Txn t : txns) {
            all.addAll(t.records());
        }
        return all;
    }

    static Rec rec(ChangelogRecord r) {
        assertNotNull(r, "expected a record");
        ByteBuffer m = r.message();
        byte[] b = new byte[m.remaining()];
        m.duplicate().get(b);
        return new Rec(r.lsn(), b);
    }

    /** Reads exactly {@code n} records, failing if any takes longer than {@code each}. */
    static List<Rec> read(ChangelogReader reader, int n, Duration each) throws IOException, InterruptedException {
        List<Rec> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            ChangelogRecord r = reader.next(each);
            assertNotNull(r, "record " + i + " of " + n + " did not arrive within " + each);
            out.add(rec(r));
        }
        return out;
    }

    static List<Rec> read(ChangelogReader reader, int n) throws IOException, InterruptedException {
        return read(reader, n, Duration.ofSeconds(5));
    }

    static void assertSameRecords(List<Rec> expected, List<Rec> actual) {
        assertEquals(expected.size(), actual.size(), "record count");
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i).lsn(), actual.get(i).lsn(), "lsn of record " + i);
            assertArrayEquals(expected.get(i).bytes(), actual.get(i).bytes(), "bytes of record " + i);
        }
    }

    static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }
}
