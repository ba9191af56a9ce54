package io.pgrelay.sync;

import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Progress of one table's copy: a log line at most every {@link #LOG_EVERY_NANOS} (rows, bytes,
 * rate and, when the source's estimate is known, an ETA) and increments for the metrics. Used by
 * the one thread that copies the table; time is a parameter so the arithmetic is testable.
 */
final class CopyProgress {

    private static final Logger log = LoggerFactory.getLogger(CopyProgress.class);
    static final long LOG_EVERY_NANOS = 10_000_000_000L;
    /** Metric updates are batched: a labelled counter per row would cost more than the row. */
    private static final int REPORT_EVERY_MESSAGES = 8192;

    private final SyncTable table;
    private final SyncListener listener;
    private final long started;
    private long rows;
    private long bytes;
    private long reportedRows;
    private long reportedBytes;
    private long lastLog;

    CopyProgress(SyncTable table, SyncListener listener, long now) {
        this.table = table;
        this.listener = listener;
        this.started = now;
        this.lastLog = now;
    }

    /** One CopyData message of {@code length} bytes: one row (binary adds a header and a trailer). */
    void message(int length, long now) {
        rows++;
        bytes += length;
        if (rows - reportedRows >= REPORT_EVERY_MESSAGES) {
            report();
            if (now - lastLog >= LOG_EVERY_NANOS) {
                lastLog = now;
                log.info("copying {}: {}", table.label(), describe(rows, bytes, now - started, table.estimatedRows()));
            }
        }
    }

    /** The copy committed with {@code exactRows}; returns the line to log. */
    String done(long exactRows, long now) {
        rows = exactRows;
        report();
        return "copied " + table.label() + ": " + describe(rows, bytes, now - started, 0);
    }

    long bytes() {
        return bytes;
    }

    private void report() {
        listener.syncCopied(table.label(), rows - reportedRows, bytes - reportedBytes);
        reportedRows = rows;
        reportedBytes = bytes;
    }

    /** E.g. {@code 250000 rows, 31.2 MB in 4.1 s (61000 rows/s, 7.6 MB/s), about 12 s left}. */
    static String describe(long rows, long bytes, long elapsedNanos, long estimatedRows) {
        double seconds = Math.max(elapsedNanos, 1) / 1e9;
        double rowsPerSecond = rows / seconds;
        String line = String.format(Locale.ROOT, "%d rows, %.1f MB in %.1f s (%.0f rows/s, %.1f MB/s)",
                rows, bytes / 1e6, seconds, rowsPerSecond, bytes / 1e6 / seconds);
        if (estimatedRows > rows && rowsPerSecond > 0) {
            line += String.format(Locale.ROOT, ", about %.0f s left of ~%d rows", (estimatedRows - rows) / rowsPerSecond,
                    estimatedRows);
        }
        return line;
    }
}
