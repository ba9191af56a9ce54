package io.pgrelay.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.checkpoint.Checkpoint;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.replication.LogSequenceNumber;

@Timeout(10)
class CommitOrderTest {

    private static Checkpoint at(long lsn) {
        return new Checkpoint(LogSequenceNumber.valueOf(lsn), Instant.EPOCH);
    }

    @Test
    void unitsCommitOnlyInOrder() {
        CommitOrder order = new CommitOrder(at(100));
        order.committed(1, at(200));
        assertThrows(IllegalStateException.class, () -> order.committed(3, at(400)));
        order.committed(2, at(300));
        assertEquals(2, order.committed());
        assertEquals(at(300), order.checkpoint());
    }

    @Test
    void aWaiterWakesWhenItsUnitCommits() throws Exception {
        CommitOrder order = new CommitOrder(at(100));
        CompletableFuture<Void> waiter = CompletableFuture.runAsync(() -> {
            try {
                order.awaitCommitted(2);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        order.committed(1, at(200));
        assertFalse(order.awaitCommitted(2, 50), "unit 2 has not committed");
        assertFalse(waiter.isDone());
        order.committed(2, at(300));
        waiter.get(5, TimeUnit.SECONDS);
    }

    @Test
    void theCheckpointNeverGoesBack() {
        CommitOrder order = new CommitOrder(at(100));
        order.advance(at(500)); // idle advance
        order.committed(1, at(100)); // a unit of skipped transactions commits its lane's older checkpoint
        assertEquals(at(500), order.checkpoint());
        order.committed(2, at(600));
        assertEquals(at(600), order.checkpoint());
    }

    @Test
    void theFirstFailureWinsAndEndsEveryWait() throws Exception {
        CommitOrder order = new CommitOrder(at(100));
        CompletableFuture<Throwable> waiter = CompletableFuture.supplyAsync(() -> {
            try {
                order.awaitCommitted(1);
                return null;
            } catch (Exception e) {
                return e;
            }
        });
        IllegalStateException first = new IllegalStateException("first");
        order.fail(first);
        order.fail(new IllegalStateException("second"));
        assertTrue(waiter.get(5, TimeUnit.SECONDS) instanceof CommitOrder.AbortedException);
        assertSame(first, order.failure());
        assertTrue(order.isAborted());
        assertThrows(CommitOrder.AbortedException.class, () -> order.awaitCommitted(1, 10));
    }
}
