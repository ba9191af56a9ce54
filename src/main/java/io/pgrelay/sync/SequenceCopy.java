package io.pgrelay.sync;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies the current values of the sequences that the copied tables own (serial, identity) or
 * use in a column default, at the end of the sync: read after the rows, a value is never
 * below an id the copy carried. Logical replication does not carry sequences, so later values
 * are not kept up to date by streaming.
 */
final class SequenceCopy {

    private static final Logger log = LoggerFactory.getLogger(SequenceCopy.class);

    private static final String SEQUENCES = """
            SELECT sn.nspname, s.relname
              FROM pg_catalog.pg_depend d
              JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
              JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
             WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
               AND d.deptype IN ('a', 'i') AND d.refobjid = ANY (?::regclass[])
            UNION
            SELECT sn.nspname, s.relname
              FROM pg_catalog.pg_attrdef ad
              JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_attrdef'::regclass AND d.objid = ad.oid
                   AND d.refclassid = 'pg_catalog.pg_class'::regclass
              JOIN pg_catalog.pg_class s ON s.oid = d.refobjid AND s.relkind = 'S'
              JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
             WHERE ad.adrelid = ANY (?::regclass[])
             ORDER BY 1, 2
            """;

    private SequenceCopy() {}

    /** Sets each sequence downstream, in the caller's transaction; returns how many were set. */
    static int copy(Connection source, Connection downstream, List<SyncTable> tables) throws SQLException {
        int copied = 0;
        for (List<String> sequence : sequences(source, tables)) {
            String qualified = SyncTable.quote(sequence.get(0)) + "." + SyncTable.quote(sequence.get(1));
            long value;
            boolean called;
            try (PreparedStatement read = source.prepareStatement("SELECT last_value, is_called FROM " + qualified);
                 ResultSet rs = read.executeQuery()) {
                rs.next();
                value = rs.getLong(1);
                called = rs.getBoolean(2);
            }
            try (PreparedStatement set = downstream.prepareStatement(
                    "SELECT pg_catalog.setval(r, ?, ?) FROM (SELECT pg_catalog.to_regclass(?) AS r) s WHERE r IS NOT NULL")) {
                set.setLong(1, value);
                set.setBoolean(2, called);
                set.setString(3, qualified);
                try (ResultSet rs = set.executeQuery()) {
                    if (rs.next()) {
                        copied++;
                    } else {
                        log.warn("sequence {}.{} is not in the downstream: its value ({}) was not copied",
                                sequence.get(0), sequence.get(1), value);
                    }
                }
            }
        }
        return copied;
    }

    private static List<List<String>> sequences(Connection source, List<SyncTable> tables) throws SQLException {
        String[] names = tables.stream().map(SyncTable::qualified).toArray(String[]::new);
        List<List<String>> sequences = new ArrayList<>();
        try (PreparedStatement statement = source.prepareStatement(SEQUENCES)) {
            statement.setArray(1, source.createArrayOf("text", names));
            statement.setArray(2, source.createArrayOf("text", names));
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    sequences.add(List.of(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return sequences;
    }
}
