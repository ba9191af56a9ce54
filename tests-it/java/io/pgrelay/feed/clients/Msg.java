package io.pgrelay.feed.clients;

import io.pgrelay.decode.PgOutputMessage;
import java.util.Arrays;
import org.postgresql.replication.LogSequenceNumber;

/**
 * One pgoutput message as a client saw it: the XLogData position (or the {@code lsn} column of
 * {@code pg_logical_slot_*_binary_changes}), the decoded message and its raw bytes.
 */
record Msg(LogSequenceNumber lsn, PgOutputMessage message, byte[] raw) {

    /** Relation and Type messages: walsender sends them at position 0/0, a peek at the change's. */
    boolean isDefinition() {
        return message instanceof PgOutputMessage.Relation || message instanceof PgOutputMessage.Type;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Msg m && lsn.equals(m.lsn) && message.equals(m.message) && Arrays.equals(raw, m.raw);
    }

    @Override
    public int hashCode() {
        return lsn.hashCode() * 31 + Arrays.hashCode(raw);
    }

    @Override
    public String toString() {
        return lsn.asString() + " " + message;
    }
}
