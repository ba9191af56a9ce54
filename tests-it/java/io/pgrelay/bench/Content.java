package io.pgrelay.bench;

import io.pgrelay.it.PgCluster;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * Whether a downstream holds exactly the root's rows: per table the row count and the sum of a hash
 * of each whole row's text, so a missing, doubled or altered row shows.
 */
final class Content {

    private static final long MARKER_POLL_MILLIS = 20;
    private static final long COMPARE_POLL_MILLIS = 250;
    private static final long LIVENESS_EVERY_NANOS = 500_000_000L;

    private Content() {
    }

    /** Something to check while waiting, e.g. that the consumer's process still runs; throws when not. */
    @FunctionalInterface
    interface Liveness {
        void check() throws Exception;
    }

    static String snapshot(PgCluster cluster, String db, List<String> tables) throws SQLException {
        try (Connection c = cluster.connect(db); Statement s = c.createStatement()) {
            return snapshot(s, tables);
        }
    }

    private static String snapshot(Statement s, List<String> tables) throws SQLException {
        StringBuilder text = new StringBuilder();
        for (String table : tables) {
            // A downstream heartbeat row has its own applied_at: compare the root's columns only.
            String row = table.equals(Stage.HEARTBEAT_TABLE) ? "(x.id, x.inserted_at)" : "x";
            try (ResultSet rs = s.executeQuery("SELECT count(*), coalesce(sum(hashtext(" + row + "::text)::bigint), 0)"
                    + " FROM " + table + " x")) {
                rs.next();
                text.append(table).append(' ').append(rs.getLong(1)).append('/').append(rs.getLong(2)).append("; ");
            }
        }
        return text.toString().strip();
    }

    /**
     * Waits until {@code db} holds the end marker row {@code marker} (cheap to poll, arrives last when
     * transactions are applied in commit order) and then equals {@code expected}; when the first
     * comparison differs (a consumer that commits out of order) it keeps comparing. Returns the
     * {@link System#nanoTime()} at which the equal state was first seen; throws at the deadline.
     */
    static long awaitEqual(PgCluster cluster, String db, List<String> tables, String expected, int marker,
                           long deadlineNanos, Liveness liveness) throws Exception {
        try (Connection c = cluster.connect(db); Statement s = c.createStatement()) {
            long nextCheck = 0;
            while (!hasEndMarker(s, marker)) {
                if (System.nanoTime() > nextCheck) {
                    liveness.check();
                    nextCheck = System.nanoTime() + LIVENESS_EVERY_NANOS;
                }
                pastDeadline(deadlineNanos, db + " never received the backlog's end marker");
                Thread.sleep(MARKER_POLL_MILLIS);
            }
            long seen = System.nanoTime();
            String actual = snapshot(s, tables);
            while (!expected.equals(actual)) {
                liveness.check();
                pastDeadline(deadlineNanos, db + " differs from the root: root " + expected + " vs " + actual);
                Thread.sleep(COMPARE_POLL_MILLIS);
                seen = System.nanoTime();
                actual = snapshot(s, tables);
            }
            return seen;
        }
    }

    private static boolean hasEndMarker(Statement s, int marker) throws SQLException {
        try (ResultSet rs = s.executeQuery("SELECT EXISTS (SELECT 1 FROM " + Workload.END_TABLE + " WHERE id = "
                + marker + ")")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    private static void pastDeadline(long deadlineNanos, String what) {
        if (System.nanoTime() > deadlineNanos) {
            throw new IllegalStateException("timeout: " + what);
        }
    }
}
