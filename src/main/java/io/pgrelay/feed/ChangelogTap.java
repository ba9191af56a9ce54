package io.pgrelay.feed;

import io.pgrelay.changelog.Changelog;
import io.pgrelay.source.ReceivedLog;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.postgresql.replication.LogSequenceNumber;

/**
 * Records the upstream stream in the changelog, on the stream thread.
 *
 * <p>fsync is grouped: after a commit once {@value #SYNC_INTERVAL_MILLIS} ms have passed since
 * the last one, and whenever the stream has nothing more buffered (caught up), so a waiting feed
 * client sees a transaction as soon as it is durable. Retention runs after syncs and when caught
 * up, at most once a second.
 *
 * <p>Idle position: when the stream is caught up, the changelog is synced and no transaction is
 * open, everything up to the upstream's position is in the changelog (the same argument as
 * apply's idle checkpoint), so the acknowledged position may move there and the upstream slot
 * can release WAL on an idle database.
 */
public final class ChangelogTap implements ReceivedLog {

    private static final long SYNC_INTERVAL_MILLIS = 20;
    private static final long RETENTION_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final Changelog changelog;
    private final Retention retention;
    private boolean inTransaction;
    private boolean dirty;
    private long lastSync = System.nanoTime();
    private long lastRetention;
    private volatile long idleEnd;

    public ChangelogTap(Changelog changelog, Retention retention) {
        this.changelog = changelog;
        this.retention = retention;
    }

    @Override
    public void append(LogSequenceNumber lsn, ByteBuffer message) throws IOException {
        byte type = message.get(message.position());
        if (type == 'B') {
            inTransaction = true;
        }
        if (changelog.append(lsn.asLong(), message)) {
            dirty = true;
        }
        if (type == 'C') {
            inTransaction = false;
            if (System.nanoTime() - lastSync >= TimeUnit.MILLISECONDS.toNanos(SYNC_INTERVAL_MILLIS)) {
                sync();
            }
        }
    }

    @Override
    public void caughtUp(LogSequenceNumber upstreamEnd) throws IOException {
        if (dirty) {
            sync();
        }
        // Only when everything appended is durable: the idle position vouches for it.
        if (!inTransaction && changelog.durableEndLsn() == changelog.endLsn()
                && Long.compareUnsigned(upstreamEnd.asLong(), idleEnd) > 0) {
            idleEnd = upstreamEnd.asLong();
        }
        maybeRunRetention();
    }

    /** At most once a second, and also while catching up (the stream is then never idle). */
    private void maybeRunRetention() throws IOException {
        if (System.nanoTime() - lastRetention >= RETENTION_INTERVAL_NANOS) {
            lastRetention = System.nanoTime();
            retention.run();
        }
    }

    @Override
    public LogSequenceNumber durableLimit() {
        long durable = changelog.durableEndLsn();
        long idle = idleEnd;
        return LogSequenceNumber.valueOf(Long.compareUnsigned(idle, durable) > 0 ? idle : durable);
    }

    private void sync() throws IOException {
        changelog.sync();
        dirty = false;
        lastSync = System.nanoTime();
        maybeRunRetention();
    }
}
