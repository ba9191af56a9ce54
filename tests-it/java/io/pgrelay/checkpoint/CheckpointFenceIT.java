package io.pgrelay.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.PgCluster;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.replication.LogSequenceNumber;

/**
 * The checkpoint fence against a late commit: a downstream connection that timed out may still
 * commit a group (its COMMIT was on the wire). That transaction holds the checkpoint row's lock,
 * so the next session's fence waits for it and then refuses to start from the stale checkpoint,
 * instead of applying the same transactions a second time.
 */
@Timeout(60)
class CheckpointFenceIT {

    private static final String DB = "app";
    private static PgCluster pg;

    @BeforeAll
    static void start() throws SQLException {
        pg = PgCluster.builder("fence").start();
        pg.createDatabase(DB);
    }

    @AfterAll
    static void stop() {
        if (pg != null) {
            pg.close();
        }
    }

    private static Checkpoint at(String lsn) {
        return new Checkpoint(LogSequenceNumber.valueOf(lsn), Instant.parse("2026-01-01T00:00:00Z"));
    }

    private static Connection transaction() throws SQLException {
        Connection connection = pg.connect(DB);
        connection.setAutoCommit(false);
        return connection;
    }

    @Test
    void aLateCommitOfAnEarlierConnectionStopsTheNextSessionFromApplyingTwice() throws Exception {
        CheckpointStore store = new CheckpointStore("late", "late");
        try (Connection setup = pg.connect(DB)) {
            store.ensureTable(setup);
            setup.setAutoCommit(false);
            store.write(setup, at("0/100"));
            setup.commit();
        }
        try (Connection zombie = transaction(); Connection next = transaction()) {
            // The earlier connection wrote its group's checkpoint; its COMMIT is still on the way.
            store.write(zombie, at("0/200"));
            // The next session read 0/100 (the committed value) and fences before its first write.
            CompletableFuture<Throwable> fence = CompletableFuture.supplyAsync(() -> {
                try {
                    store.fence(next, at("0/100"));
                    return null;
                } catch (Throwable t) {
                    return t;
                }
            });
            Thread.sleep(500);
            assertFalse(fence.isDone(), "the fence must wait for the transaction holding the checkpoint row");
            zombie.commit();
            Throwable refused = fence.get(10, TimeUnit.SECONDS);
            assertTrue(refused instanceof SQLException, "expected a refusal, got " + refused);
            assertEquals("40001", ((SQLException) refused).getSQLState(), "retried, not permanent: " + refused);
            assertTrue(refused.getMessage().contains("moved to 0/200"), refused.getMessage());
            next.rollback();
        }
    }

    @Test
    void passesAtTheExpectedCheckpointAndHoldsTheRowUntilCommit() throws Exception {
        CheckpointStore store = new CheckpointStore("steady", "steady");
        try (Connection setup = pg.connect(DB)) {
            store.ensureTable(setup);
            setup.setAutoCommit(false);
            store.write(setup, at("0/300"));
            setup.commit();
        }
        try (Connection session = transaction(); Connection other = transaction()) {
            store.fence(session, at("0/300"));
            CompletableFuture<Void> blocked = CompletableFuture.runAsync(() -> {
                try {
                    store.write(other, at("0/350"));
                    other.commit();
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(300);
            assertFalse(blocked.isDone(), "the fenced row is locked until the session's transaction ends");
            store.write(session, at("0/400"));
            session.commit();
            // The other writer then finds 0/400 and refuses to move it back.
            Throwable failure = assertThrows(Exception.class, () -> blocked.get(10, TimeUnit.SECONDS));
            assertTrue(String.valueOf(failure.getCause()).contains("already past"), String.valueOf(failure));
        }
        assertEquals(List.of(List.of("0/400")),
                pg.query(DB, "SELECT end_lsn::text FROM pgrelay.checkpoint WHERE relay_name = 'steady'"));
    }

    @Test
    void aFirstCheckpointGetsARowToLockAndACheckpointThatWentBackIsPermanent() throws Exception {
        CheckpointStore store = new CheckpointStore("first", "first");
        try (Connection session = transaction()) {
            store.ensureTable(session);
            store.fence(session, Checkpoint.NONE);
            assertEquals(Checkpoint.NONE.endLsn(), store.read(session).endLsn(), "a 0/0 row reads as no checkpoint");
            store.write(session, at("0/500"));
            session.commit();
        }
        try (Connection session = transaction()) {
            assertThrows(CheckpointConflictException.class, () -> store.fence(session, at("0/600")),
                    "a checkpoint behind the session's own cannot come from a late commit");
            session.rollback();
        }
    }
}
