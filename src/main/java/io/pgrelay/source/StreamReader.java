package io.pgrelay.source;

import io.pgrelay.checkpoint.Checkpoint;
import io.pgrelay.decode.PgOutputDecoder;
import io.pgrelay.decode.PgOutputMessage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.sql.SQLException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;

/**
 * Reads the upstream's pgoutput stream, records each message in the {@link ReceivedLog} (the
 * feed's changelog), decodes it, and hands it to the apply queue in order.
 *
 * <h2>Thread contract</h2>
 * One thread, the stream thread, runs {@link #run} and is the only thread that touches the
 * {@link PGReplicationStream}: read, status updates, close. Other threads never call the
 * stream; they talk to this thread through {@link StreamPositions} (the apply thread
 * publishes the durable checkpoint there, this thread turns it into flush feedback) and
 * through the {@code keepRunning} flag.
 *
 * <p>Feedback: the flushed and applied positions sent upstream are the durable checkpoint and
 * nothing else, so the upstream slot never moves past what the downstream holds. pgjdbc answers
 * keepalives that request a reply and sends a status update every status interval, also when
 * idle, as long as this loop keeps calling {@code readPending}; while the apply queue is full
 * the loop sends status updates itself so the upstream does not time the connection out.
 */
public final class StreamReader {

    /** Don't send feedback more often than this: one status message per commit is wasteful. */
    private static final long FEEDBACK_MIN_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    /**
     * Longest nap when the stream has nothing buffered: a transaction arriving during the nap
     * waits for its end, so this is added lag per tier (1 ms costs about 1000 cheap polls a second).
     */
    private static final long MAX_IDLE_SLEEP_MILLIS = 1;

    private final PGReplicationStream stream;
    private final PgOutputDecoder decoder;
    private final BlockingQueue<PgOutputMessage> applyQueue;
    private final StreamPositions positions;
    private final ReceivedLog receivedLog;
    private final long statusIntervalNanos;
    private final UpstreamLiveness liveness;

    private LogSequenceNumber reportedFlush = LogSequenceNumber.INVALID_LSN;
    private long lastForcedFeedback = System.nanoTime();
    private boolean feedbackUnsent;

    public StreamReader(PGReplicationStream stream, PgOutputDecoder decoder, BlockingQueue<PgOutputMessage> applyQueue,
                        StreamPositions positions, ReceivedLog receivedLog, long statusIntervalNanos) {
        this(stream, decoder, applyQueue, positions, receivedLog, statusIntervalNanos, UpstreamLiveness.NONE);
    }

    /** @param liveness when the upstream last sent anything: a silent upstream is pinged, then given up on */
    public StreamReader(PGReplicationStream stream, PgOutputDecoder decoder, BlockingQueue<PgOutputMessage> applyQueue,
                        StreamPositions positions, ReceivedLog receivedLog, long statusIntervalNanos,
                        UpstreamLiveness liveness) {
        this.liveness = liveness;
        this.stream = stream;
        this.decoder = decoder;
        this.applyQueue = applyQueue;
        this.positions = positions;
        this.receivedLog = receivedLog;
        this.statusIntervalNanos = statusIntervalNanos;
        Checkpoint start = positions.durable();
        LogSequenceNumber logged = receivedLog.durableLimit();
        LogSequenceNumber flushed = Long.compareUnsigned(logged.asLong(), start.endLsn().asLong()) < 0 ? logged : start.endLsn();
        if (flushed.asLong() != 0) {
            // Without this the first status update would carry an invalid flush position.
            stream.setFlushedLSN(flushed);
            stream.setAppliedLSN(flushed);
            reportedFlush = flushed;
        }
    }

    /**
     * Reads until {@code keepRunning} turns false, then sends final feedback. Throws on a
     * stream failure; the caller ends the session.
     */
    public void run(BooleanSupplier keepRunning) throws SQLException, IOException, InterruptedException {
        long idleSleep = 0;
        while (keepRunning.getAsBoolean()) {
            ByteBuffer data = stream.readPending();
            if (data == null) {
                // Nothing buffered: every message read so far is queued, so the upstream's
                // position is a safe idle position for apply.
                LogSequenceNumber upstreamEnd = stream.getLastReceiveLSN();
                receivedLog.caughtUp(upstreamEnd);
                positions.upstreamEnd(upstreamEnd);
                sendFeedback(false);
                checkLiveness();
                idleSleep = Math.min(MAX_IDLE_SLEEP_MILLIS, idleSleep + 1);
                Thread.sleep(idleSleep);
                continue;
            }
            idleSleep = 0;
            if (receivedLog != ReceivedLog.NONE) {
                // pgjdbc reports the XLogData's dataStart as the last received position.
                receivedLog.append(stream.getLastReceiveLSN(), data.duplicate());
            }
            handOff(decoder.decode(data), keepRunning);
            sendFeedback(false);
        }
        sendFeedback(true);
    }

    private void handOff(PgOutputMessage message, BooleanSupplier keepRunning) throws SQLException, InterruptedException {
        while (!applyQueue.offer(message, 100, TimeUnit.MILLISECONDS)) {
            if (!keepRunning.getAsBoolean()) {
                return;
            }
            // Apply is behind: we are not reading, so pgjdbc will not answer keepalives for us.
            liveness.notReading();
            if (System.nanoTime() - lastForcedFeedback >= statusIntervalNanos) {
                forceFeedback();
            }
        }
    }

    /**
     * Passes the newly durable position upstream, at most every 100 ms, and always when forced:
     * the checkpoint, or the end of the durable changelog when that is lower.
     */
    private void sendFeedback(boolean force) throws SQLException {
        LogSequenceNumber checkpoint = positions.durable().endLsn();
        LogSequenceNumber logged = receivedLog.durableLimit();
        LogSequenceNumber flushed = Long.compareUnsigned(logged.asLong(), checkpoint.asLong()) < 0 ? logged : checkpoint;
        if (Long.compareUnsigned(flushed.asLong(), reportedFlush.asLong()) > 0) {
            stream.setFlushedLSN(flushed);
            stream.setAppliedLSN(flushed);
            reportedFlush = flushed;
            feedbackUnsent = true;
        }
        boolean due = System.nanoTime() - lastForcedFeedback >= FEEDBACK_MIN_INTERVAL_NANOS;
        if (force || (feedbackUnsent && due)) {
            forceFeedback();
        }
    }

    /** A silent upstream gets a status update that requests a reply; one silent for upstream.timeout ends the session. */
    private void checkLiveness() throws SQLException {
        if (liveness.pingDue()) {
            forceFeedback(); // pgjdbc's forced status update asks for a reply
        }
        liveness.check();
    }

    private void forceFeedback() throws SQLException {
        stream.forceUpdateStatus();
        lastForcedFeedback = System.nanoTime();
        feedbackUnsent = false;
    }
}
