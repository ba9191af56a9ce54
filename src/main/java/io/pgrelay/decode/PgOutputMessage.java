package io.pgrelay.decode;

import java.time.Instant;
import java.util.List;
import org.postgresql.replication.LogSequenceNumber;

/**
 * One pgoutput message (protocol version 1), as described in the PostgreSQL docs
 * "Logical Replication Message Formats". Values are immutable; LSNs and commit times are
 * exactly the upstream's, so they can be passed down a chain unchanged.
 */
public sealed interface PgOutputMessage {

    /** Opens a transaction; {@code finalLsn} is the LSN of its commit record. */
    record Begin(LogSequenceNumber finalLsn, Instant commitTime, int xid) implements PgOutputMessage {}

    /** Closes a transaction; {@code endLsn} is the end of its commit record, the resume point after it. */
    record Commit(int flags, LogSequenceNumber commitLsn, LogSequenceNumber endLsn, Instant commitTime)
            implements PgOutputMessage {}

    /** The transaction came from another node (only sent for origins other than the local one). */
    record Origin(LogSequenceNumber originCommitLsn, String name) implements PgOutputMessage {}

    /** Describes a relation; sent before the first change to it in a session, and again after DDL. */
    record Relation(int relationId, String namespace, String name, ReplicaIdentity replicaIdentity,
                    List<Column> columns) implements PgOutputMessage {
        public Relation {
            columns = List.copyOf(columns);
        }

        /** The schema-qualified name as it appears upstream, for messages. */
        public String qualifiedName() {
            return namespace + "." + name;
        }
    }

    /** One column of a {@link Relation}; {@code key} marks a member of the replica identity. */
    record Column(String name, int typeOid, int typeModifier, boolean key) {}

    /** Names a non-built-in type used by a following Relation. */
    record Type(int typeOid, String namespace, String name) implements PgOutputMessage {}

    record Insert(int relationId, TupleData newTuple) implements PgOutputMessage {}

    /**
     * {@code oldTuple} is null unless the key changed ({@link OldTupleKind#KEY}) or the table has
     * REPLICA IDENTITY FULL ({@link OldTupleKind#FULL}).
     */
    record Update(int relationId, OldTupleKind oldKind, TupleData oldTuple, TupleData newTuple)
            implements PgOutputMessage {}

    record Delete(int relationId, OldTupleKind oldKind, TupleData oldTuple) implements PgOutputMessage {}

    record Truncate(List<Integer> relationIds, boolean cascade, boolean restartIdentity)
            implements PgOutputMessage {
        public Truncate {
            relationIds = List.copyOf(relationIds);
        }
    }

    /** A message from {@code pg_logical_emit_message}; transactional ones arrive inside Begin/Commit. */
    record LogicalMessage(boolean transactional, LogSequenceNumber lsn, String prefix, byte[] content)
            implements PgOutputMessage {}

    /** pgoutput's replica identity setting of a relation ({@code relreplident}). */
    enum ReplicaIdentity {
        DEFAULT('d'), NOTHING('n'), FULL('f'), INDEX('i');

        private final char code;

        ReplicaIdentity(char code) {
            this.code = code;
        }

        static ReplicaIdentity of(byte code) {
            for (ReplicaIdentity identity : values()) {
                if (identity.code == code) {
                    return identity;
                }
            }
            throw new MalformedMessageException("unknown replica identity '" + (char) code + "'");
        }
    }

    /** Which old tuple an Update or Delete carries. */
    enum OldTupleKind {
        /** No old tuple: the key did not change (Update only). */
        NONE,
        /** 'K': only the replica identity columns are filled, others are null. */
        KEY,
        /** 'O': the whole old row, under REPLICA IDENTITY FULL. */
        FULL
    }
}
