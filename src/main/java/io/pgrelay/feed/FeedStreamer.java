package io.pgrelay.feed;

import io.pgrelay.changelog.ChangelogReader;
import io.pgrelay.changelog.ChangelogRecord;
import io.pgrelay.decode.PgOutputDecoder;
import io.pgrelay.decode.PgOutputMessage;
import io.pgrelay.feed.wire.FrontendMessage;
import io.pgrelay.feed.wire.ProtocolException;
import io.pgrelay.feed.wire.WireReader;
import io.pgrelay.feed.wire.WireWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.postgresql.replication.LogSequenceNumber;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams one feed slot to its client in CopyBoth mode: XLogData for every changelog record at
 * or after the start position, keepalives, and the client's standby status updates.
 *
 * <p>Every LSN is the root's (records keep the position they had upstream). Relation and Type
 * messages are sent before the first change to each relation in this session, whatever was sent
 * in earlier sessions (DESIGN.md invariant 5). A keepalive's walEnd is the end of the last commit
 * fully sent, never more (invariant 3).
 *
 * <p>Threads: the session thread sends (it owns the writer); a receiver thread reads the client's
 * messages and only sets volatile fields.
 */
final class FeedStreamer {

    private static final Logger log = LoggerFactory.getLogger(FeedStreamer.class);
    private static final long PG_EPOCH_MICROS = 946_684_800_000_000L;
    private static final Duration IDLE_WAIT = Duration.ofMillis(100);
    private static final long KEEPALIVE_IDLE_NANOS = Duration.ofSeconds(10).toNanos();
    private static final long PERSIST_INTERVAL_NANOS = Duration.ofSeconds(1).toNanos();

    private final FeedContext context;
    private final String slot;
    private final boolean messages;
    private final WireWriter out;
    private final WireReader in;
    private final String client;
    private final ChangelogReader reader;
    private final PgOutputDecoder decoder = new PgOutputDecoder();
    private final ScheduledExecutorService timer;
    private final Runnable abort;
    private final Map<Integer, ByteBuffer> sentRelations = new HashMap<>();
    private final Map<Integer, ByteBuffer> sentTypes = new HashMap<>();

    private long lastSentCommitEnd;
    private long persistedFlush;
    private long lastSend = System.nanoTime();
    private long lastPersist = System.nanoTime();
    private long lastLostCheck = System.nanoTime();

    private volatile long clientFlush;
    private volatile long lastClientMessage = System.nanoTime();
    private volatile boolean replyRequested;
    private volatile boolean clientDone;
    private volatile Throwable receiverFailure;

    FeedStreamer(FeedContext context, String slot, long from, boolean messages, WireWriter out, WireReader in,
                 String client, ScheduledExecutorService timer, Runnable abort) throws IOException {
        this.timer = timer;
        this.abort = abort;
        this.context = context;
        this.slot = slot;
        this.messages = messages;
        this.out = out;
        this.in = in;
        this.client = client;
        this.reader = context.changelog().openReader(from);
        this.lastSentCommitEnd = from;
        this.persistedFlush = from;
        this.clientFlush = from;
    }

    void run() throws IOException, ProtocolException {
        ScheduledFuture<?> watchdog = null;
        try (reader) {
            out.copyBothResponse();
            out.flush();
            Thread receiver = new Thread(this::receive, "pgrelay-feed-recv-" + slot);
            receiver.setDaemon(true);
            receiver.start();
            // The session thread may be stuck in a write to a client that stopped reading: the
            // timeout and a lost slot are enforced from the timer thread by closing the socket.
            watchdog = timer.scheduleAtFixedRate(this::watch, 1, 1, TimeUnit.SECONDS);
            log.info("feed slot {} streaming to {} from {}", slot, client, LogSequenceNumber.valueOf(lastSentCommitEnd).asString());
            while (!clientDone) {
                checkClient();
                ChangelogRecord record = reader.next(Duration.ZERO);
                if (record == null) {
                    out.flush();
                    persistFeedback(false);
                    record = reader.next(IDLE_WAIT);
                }
                if (record != null) {
                    send(record);
                } else if (replyRequested || System.nanoTime() - lastSend >= KEEPALIVE_IDLE_NANOS) {
                    keepalive(false);
                }
            }
            out.copyDone();
            out.flush();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } finally {
            if (watchdog != null) {
                watchdog.cancel(false);
            }
            persistFeedback(true);
        }
        log.info("feed slot {}: client {} ended streaming at {}", slot, client,
                LogSequenceNumber.valueOf(lastSentCommitEnd).asString());
    }

    private void checkClient() throws IOException, ProtocolException {
        Throwable failure = receiverFailure;
        if (failure instanceof ProtocolException protocol) {
            throw protocol;
        }
        if (failure != null) {
            throw new IOException("client connection failed: " + failure.getMessage(), failure);
        }
        if (System.nanoTime() - lastLostCheck >= PERSIST_INTERVAL_NANOS) {
            lastLostCheck = System.nanoTime();
            if (context.slots().get(slot).map(FeedSlot::lost).orElse(true)) {
                throw new ProtocolException("55000", "can no longer get changes from replication slot \"" + slot
                        + "\": it fell behind feed.max-retained-bytes and was invalidated (wal_status = lost), or was dropped");
            }
        }
        long silent = System.nanoTime() - lastClientMessage;
        if (silent > context.timeout().toNanos()) {
            throw new ProtocolException("08006", "terminating feed connection due to replication timeout: no status from "
                    + client + " for " + context.timeout().toSeconds() + " s");
        }
        if (silent > context.timeout().toNanos() / 2 && System.nanoTime() - lastSend > context.timeout().toNanos() / 4) {
            keepalive(true);
        }
    }

    private void send(ChangelogRecord record) throws IOException {
        ByteBuffer message = record.message();
        byte type = message.get(message.position());
        switch (type) {
            case 'R' -> ensureRelation(message.getInt(message.position() + 1), record.lsn());
            case 'Y' -> ensureType(message.getInt(message.position() + 1), record.lsn());
            case 'I', 'U', 'D' -> {
                ensureRelation(message.getInt(message.position() + 1), record.lsn());
                xLogData(record.lsn(), message);
            }
            case 'T' -> {
                int count = message.getInt(message.position() + 1);
                for (int i = 0; i < count; i++) {
                    ensureRelation(message.getInt(message.position() + 6 + 4 * i), record.lsn());
                }
                xLogData(record.lsn(), message);
            }
            case 'M' -> {
                if (messages) {
                    xLogData(record.lsn(), message);
                }
            }
            case 'C' -> {
                xLogData(record.lsn(), message);
                lastSentCommitEnd = message.getLong(message.position() + 10);
                persistFeedback(false); // also while busy: retention must follow a client that never idles
            }
            default -> xLogData(record.lsn(), message);
        }
    }

    /** Sends the relation's current definition unless this session already has it. */
    private void ensureRelation(int relationId, long lsn) throws IOException {
        ByteBuffer definition = reader.relation(relationId);
        if (definition == null) {
            throw new IOException("changelog has no definition of relation " + relationId + ": the changelog is damaged");
        }
        if (definition.equals(sentRelations.get(relationId))) {
            return;
        }
        PgOutputMessage.Relation relation = (PgOutputMessage.Relation) decoder.decode(definition.duplicate());
        for (PgOutputMessage.Column column : relation.columns()) {
            ensureType(column.typeOid(), lsn);
        }
        xLogData(lsn, definition);
        sentRelations.put(relationId, definition);
    }

    private void ensureType(int typeOid, long lsn) throws IOException {
        ByteBuffer definition = reader.type(typeOid);
        if (definition == null || definition.equals(sentTypes.get(typeOid))) {
            return;
        }
        xLogData(lsn, definition);
        sentTypes.put(typeOid, definition);
    }

    /**
     * walEnd is the message's own position, as a walsender sends it: a native subscriber takes
     * walEnd as received and may report it flushed, so it must never run ahead of delivery.
     */
    private void xLogData(long lsn, ByteBuffer message) throws IOException {
        out.xLogData(lsn, lsn, now(), message.duplicate());
        lastSend = System.nanoTime();
    }

    private void keepalive(boolean requestReply) throws IOException {
        out.keepalive(lastSentCommitEnd, now(), requestReply);
        out.flush();
        replyRequested = false;
        lastSend = System.nanoTime();
    }

    /** Moves the slot to what the client confirmed, capped at what it was sent; at most once a second. */
    private void persistFeedback(boolean force) throws IOException {
        long flush = Long.compareUnsigned(clientFlush, lastSentCommitEnd) < 0 ? clientFlush : lastSentCommitEnd;
        if (Long.compareUnsigned(flush, persistedFlush) <= 0) {
            return;
        }
        if (force || System.nanoTime() - lastPersist >= PERSIST_INTERVAL_NANOS) {
            context.slots().confirm(slot, flush);
            persistedFlush = flush;
            lastPersist = System.nanoTime();
        }
    }

    /** On the timer thread: ends a session whose client went silent or whose slot was lost. */
    private void watch() {
        boolean silent = System.nanoTime() - lastClientMessage > context.timeout().toNanos() + TimeUnit.SECONDS.toNanos(1);
        boolean lost = context.slots().get(slot).map(FeedSlot::lost).orElse(true);
        if (silent || lost) {
            log.warn("feed slot {}: closing the connection of {}: {}", slot, client,
                    lost ? "the slot was lost or dropped" : "no status for more than feed.timeout (" + context.timeout().toSeconds() + " s)");
            abort.run();
        }
    }

    /** The receiver thread: standby status updates, CopyDone, or the end of the connection. */
    private void receive() {
        try {
            while (!clientDone) {
                FrontendMessage message = in.read();
                lastClientMessage = System.nanoTime();
                switch (message.type()) {
                    case FrontendMessage.COPY_DATA -> standbyMessage(message.body());
                    case FrontendMessage.COPY_DONE -> clientDone = true;
                    case FrontendMessage.COPY_FAIL, FrontendMessage.TERMINATE -> {
                        receiverFailure = new IOException("client ended the stream");
                        clientDone = true;
                    }
                    default -> throw new ProtocolException("08P01", "unexpected message type '" + (char) message.type()
                            + "' during streaming");
                }
            }
        } catch (IOException | ProtocolException | RuntimeException e) {
            receiverFailure = e;
        }
    }

    private void standbyMessage(ByteBuffer body) throws ProtocolException {
        if (!body.hasRemaining()) {
            throw new ProtocolException("08P01", "empty CopyData from client");
        }
        byte kind = body.get(0);
        if (kind == 'r') {
            if (body.remaining() < 34) {
                throw new ProtocolException("08P01", "standby status update too short");
            }
            long flushed = body.getLong(9);
            if (flushed != 0 && Long.compareUnsigned(flushed, clientFlush) > 0) {
                clientFlush = flushed;
            }
            replyRequested = body.get(33) != 0;
        } else if (kind != 'h') {
            throw new ProtocolException("08P01", "unexpected standby message type '" + (char) kind + "'");
        }
    }

    private static long now() {
        return System.currentTimeMillis() * 1000 - PG_EPOCH_MICROS;
    }
}
