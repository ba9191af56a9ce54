package io.pgrelay.sync;

import io.pgrelay.apply.CopyFilter;
import io.pgrelay.checkpoint.Checkpoint;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import org.postgresql.replication.LogSequenceNumber;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tables a resumed initial copy read under a later snapshot than the slot's consistent point,
 * with that snapshot's LSN, as the apply's {@link CopyFilter}. Only entries above the checkpoint
 * matter: once the relay has applied past a table's sync LSN, nothing it streams is in that copy.
 */
public final class ResumedTables {

    private static final Logger log = LoggerFactory.getLogger(ResumedTables.class);

    private static final String SYNC_LSNS = """
            SELECT t.schema_name, t.table_name, t.sync_lsn::text
              FROM pgrelay.sync_table t JOIN pgrelay.sync_run r USING (relay_name)
             WHERE t.relay_name = ? AND r.state = 'done' AND t.state = 'done'
               AND t.sync_lsn > r.consistent_point AND t.sync_lsn > ?::pg_lsn
            """;

    private ResumedTables() {}

    /** Reads the filter of {@code relayName} in autocommit mode; NONE without such tables. */
    public static CopyFilter filter(Connection downstream, String relayName, Checkpoint checkpoint)
            throws SQLException {
        if (checkpoint.isNone() || !hasSyncLsns(downstream)) {
            return CopyFilter.NONE;
        }
        Map<String, Long> lsns = new HashMap<>();
        try (PreparedStatement statement = downstream.prepareStatement(SYNC_LSNS)) {
            statement.setString(1, relayName);
            statement.setString(2, checkpoint.endLsn().asString());
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    lsns.put(rs.getString(1) + "." + rs.getString(2), LogSequenceNumber.valueOf(rs.getString(3)).asLong());
                }
            }
        }
        if (!lsns.isEmpty()) {
            log.info("skipping the changes a resumed initial copy already holds, per table until its sync LSN: {}", lsns
                    .entrySet().stream().map(e -> e.getKey() + " < " + LogSequenceNumber.valueOf(e.getValue()).asString())
                    .sorted().toList());
        }
        return CopyFilter.of(lsns);
    }

    private static boolean hasSyncLsns(Connection downstream) throws SQLException {
        try (Statement statement = downstream.createStatement();
             ResultSet rs = statement.executeQuery("SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = "
                     + "to_regclass('pgrelay.sync_table') AND attname = 'sync_lsn' AND NOT attisdropped"
                     + " AND to_regclass('pgrelay.sync_run') IS NOT NULL")) {
            return rs.next();
        }
    }
}
