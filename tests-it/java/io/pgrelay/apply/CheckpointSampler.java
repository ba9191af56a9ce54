package io.pgrelay.apply;

import io.pgrelay.it.PgCluster;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.postgresql.replication.LogSequenceNumber;

/**
 * Reads, again and again while the relay applies, the downstream's checkpoint and the set of
 * {@code txlog} ids in one REPEATABLE READ snapshot: what a reader of the downstream could see
 * together at one moment. {@link TxlogCommits} later tells which ids each checkpoint covers.
 */
final class CheckpointSampler {

    /** One snapshot: the checkpoint ({@link LogSequenceNumber#INVALID_LSN} before the first) and the txlog ids. */
    record Sample(int number, LogSequenceNumber checkpoint, BitSet ids) {}

    private static final String CHECKPOINT_SQL = "SELECT end_lsn::text FROM pgrelay.checkpoint WHERE relay_name = ?";
    private static final String TXLOG_SQL = "SELECT id FROM txlog";

    private final PgCluster downstream;
    private final String db;
    private final String relayName;
    private final long pauseMillis;
    private final Queue<Throwable> errors = new ConcurrentLinkedQueue<>();
    /** Written by the sampler thread only; read after {@link #stop()} joined it. */
    private final List<Sample> samples = new ArrayList<>();
    private final Thread thread;
    private volatile boolean stop;

    CheckpointSampler(PgCluster downstream, String db, String relayName, long pauseMillis) {
        this.downstream = downstream;
        this.db = db;
        this.relayName = relayName;
        this.pauseMillis = pauseMillis;
        this.thread = new Thread(this::run, "checkpoint-sampler");
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Stops after the sample in progress, takes one last sample, and returns them all in order. */
    List<Sample> stop() throws InterruptedException {
        halt();
        if (thread.isAlive()) {
            throw new AssertionError("the checkpoint sampler did not stop within 30 s");
        }
        if (!errors.isEmpty()) {
            AssertionError error = new AssertionError("the checkpoint sampler failed: " + errors.peek(), errors.peek());
            errors.stream().skip(1).forEach(error::addSuppressed);
            throw error;
        }
        return samples;
    }

    /** Stops without judging: for finally blocks. */
    void halt() throws InterruptedException {
        stop = true;
        thread.join(TimeUnit.SECONDS.toMillis(30));
    }

    boolean failed() {
        return !errors.isEmpty();
    }

    private void run() {
        try (Connection connection = downstream.connect(db);
             PreparedStatement checkpoint = connection.prepareStatement(CHECKPOINT_SQL);
             PreparedStatement txlog = connection.prepareStatement(TXLOG_SQL)) {
            connection.setAutoCommit(false);
            connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            checkpoint.setString(1, relayName);
            boolean last = false;
            while (!last) {
                last = stop;
                samples.add(sample(connection, checkpoint, txlog));
                if (!last) {
                    Thread.sleep(pauseMillis);
                }
            }
        } catch (Throwable t) {
            errors.add(t);
        }
    }

    /** One transaction, one snapshot: taken at its first query, so both reads see the same commits. */
    private Sample sample(Connection connection, PreparedStatement checkpoint, PreparedStatement txlog) throws SQLException {
        LogSequenceNumber lsn = LogSequenceNumber.INVALID_LSN;
        try (ResultSet rs = checkpoint.executeQuery()) {
            if (rs.next()) {
                lsn = LogSequenceNumber.valueOf(rs.getString(1));
            }
        }
        BitSet ids = new BitSet();
        try (ResultSet rs = txlog.executeQuery()) {
            while (rs.next()) {
                ids.set(Math.toIntExact(rs.getLong(1)));
            }
        }
        connection.commit();
        return new Sample(samples.size(), lsn, ids);
    }
}
