package io.pgrelay.bench;

import io.pgrelay.it.PgCluster;
import java.sql.SQLException;
import java.util.List;

/** Logical replication slots on a PostgreSQL server: made before a backlog, dropped after use. */
final class Slots {

    private static final long DROP_WAIT_MILLIS = 30_000;

    private Slots() {
    }

    static void createPgoutput(PgCluster cluster, String db, String slot) throws SQLException {
        cluster.execute(db, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
    }

    /** Drops the slot if it exists, waiting for a walsender that still holds it to let go. */
    static void drop(PgCluster cluster, String db, String slot) throws Exception {
        long deadline = System.currentTimeMillis() + DROP_WAIT_MILLIS;
        while (true) {
            List<List<String>> rows = cluster.query(db,
                    "SELECT active FROM pg_replication_slots WHERE slot_name = '" + slot + "'");
            if (rows.isEmpty()) {
                return;
            }
            if ("f".equals(rows.get(0).get(0))) {
                try {
                    cluster.execute(db, "SELECT pg_drop_replication_slot('" + slot + "')");
                    return;
                } catch (SQLException e) {
                    // Became active again between the check and the drop: wait and retry.
                }
            }
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("slot " + slot + " on " + cluster.name() + " is still in use after "
                        + DROP_WAIT_MILLIS / 1000 + " s");
            }
            Thread.sleep(100);
        }
    }

    /** The slot's confirmed_flush_lsn as text, or null when it does not exist. */
    static String confirmedFlush(PgCluster cluster, String db, String slot) throws SQLException {
        List<List<String>> rows = cluster.query(db,
                "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = '" + slot + "'");
        return rows.isEmpty() ? null : rows.get(0).get(0);
    }
}
