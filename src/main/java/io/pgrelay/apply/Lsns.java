package io.pgrelay.apply;

import org.postgresql.replication.LogSequenceNumber;

/** Formats raw LSNs the way PostgreSQL prints them ({@code 0/16B3748}). */
final class Lsns {
    private Lsns() {}

    static String format(long lsn) {
        return LogSequenceNumber.valueOf(lsn).asString();
    }
}
