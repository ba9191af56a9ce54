package io.pgrelay.changelog;

/** LSNs are unsigned 64-bit positions; compare and print them as PostgreSQL does. */
final class Lsn {
    private Lsn() {}

    static int compare(long a, long b) {
        return Long.compareUnsigned(a, b);
    }

    static String format(long lsn) {
        return Long.toHexString(lsn >>> 32).toUpperCase() + "/" + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase();
    }
}
