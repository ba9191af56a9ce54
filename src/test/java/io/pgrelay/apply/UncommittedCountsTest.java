package io.pgrelay.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgrelay.decode.PgOutputMessage.Commit;
import io.pgrelay.decode.PgOutputMessage.Relation;
import io.pgrelay.decode.PgOutputMessage.ReplicaIdentity;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.replication.LogSequenceNumber;

/** Counts reach the listener once, when the downstream transaction commits; a rollback drops them. */
@Timeout(5)
class UncommittedCountsTest {

    private static final Relation T = new Relation(1, "public", "t", ReplicaIdentity.DEFAULT, List.of());

    private final List<String> reported = new ArrayList<>();
    private final ApplyListener listener = new ApplyListener() {
        @Override
        public void rowsApplied(Relation relation, String operation, int count) {
            reported.add(relation.name() + " " + operation + " " + count);
        }

        @Override
        public void transactionApplied(Commit commit) {
            reported.add("commit " + commit.endLsn().asString());
        }
    };

    @Test
    void aRolledBackGroupIsNotCountedAndItsRetryIsCountedOnce() {
        UncommittedCounts counts = new UncommittedCounts();
        counts.row(T, "insert");
        counts.row(T, "insert");
        counts.transaction(commit(0x100));
        counts.discard();
        assertEquals(List.of(), reported, "nothing of a rolled-back group");

        counts.row(T, "insert");
        counts.row(T, "insert");
        counts.row(T, "update");
        counts.transaction(commit(0x100));
        counts.committed(listener);
        counts.committed(listener);
        assertEquals(List.of("commit 0/100", "t insert 2", "t update 1"), reported, "once, at the commit");
    }

    private static Commit commit(long endLsn) {
        return new Commit(0, LogSequenceNumber.valueOf(endLsn - 8), LogSequenceNumber.valueOf(endLsn), Instant.EPOCH);
    }
}
