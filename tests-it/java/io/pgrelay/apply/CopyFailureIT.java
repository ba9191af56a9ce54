package io.pgrelay.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.config.ConflictPolicy;
import io.pgrelay.it.PgCluster;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.PGConnection;

/**
 * A COPY run whose downstream backend dies before the run ends. pgjdbc keeps a connection locked
 * for a COPY that failed on I/O, and any later statement on it, the relay's rollback included,
 * used to wait for that lock forever: the relay stalled silently after a downstream crash. The
 * failure must come back as a connection failure at once, and the connection must stay usable
 * enough to be rolled back and closed.
 */
@Timeout(60)
class CopyFailureIT {

    private static final String DB = "postgres";
    private static PgCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.builder("copyfail").start();
        cluster.execute(DB, "CREATE TABLE copied (id int PRIMARY KEY, v text)");
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void aCopyWhoseBackendDiesFailsAsALostConnectionInsteadOfHanging() throws Exception {
        try (Connection connection = cluster.connect(DB)) {
            StatementBatch batch = copyRun(connection, 1, 10);
            assertEquals(10, batch.pendingRows(), "the rows stream into an open COPY");

            int pid = connection.unwrap(PGConnection.class).getBackendPID();
            cluster.execute(DB, "SELECT pg_terminate_backend(" + pid + ")");
            awaitGone(pid);

            SQLException lost = assertThrows(SQLException.class, batch::flush);
            assertTrue(SqlStates.isConnectionFailure(lost.getSQLState()),
                    "a lost connection, not a refused row: " + lost.getSQLState() + " " + lost.getMessage());
            batch.close();
            assertThrows(SQLException.class, connection::rollback, "the connection is gone, and says so at once");
        }
        assertEquals(List.of(List.of("0")), cluster.query(DB, "SELECT count(*) FROM copied"));
    }

    @Test
    void aCopyThatEndsNormallyLeavesTheConnectionFree() throws Exception {
        try (Connection connection = cluster.connect(DB)) {
            StatementBatch batch = copyRun(connection, 1001, 1005);
            batch.flush();
            connection.rollback();
            assertFalse(connection.isClosed());
        }
    }

    /** Rows {@code first..last} added to a new batch in a new transaction: from the second on, they stream into a COPY. */
    private static StatementBatch copyRun(Connection connection, int first, int last) throws SQLException {
        connection.setAutoCommit(false);
        StatementBatch batch = new StatementBatch(connection, ConflictPolicy.ERROR, 1000);
        MultiRowInsert shape = new MultiRowInsert("INSERT INTO copied (id, v) VALUES ", 2, "",
                "COPY copied (id, v) FROM STDIN");
        for (int id = first; id <= last; id++) {
            batch.add(insert(shape, id), 100);
        }
        return batch;
    }

    private static RowStatement insert(MultiRowInsert shape, int id) {
        return new RowStatement("INSERT INTO copied (id, v) VALUES (?, ?)", new String[] {Integer.toString(id), "v" + id},
                RowStatement.Operation.INSERT, false, null, null, false, shape);
    }

    private static void awaitGone(int pid) throws Exception {
        for (int i = 0; i < 100; i++) {
            if (cluster.query(DB, "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid).equals(List.of(List.of("0")))) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("backend " + pid + " did not end");
    }
}
