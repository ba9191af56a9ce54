package io.pgrelay.schema;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Copies the values of sequences owned by table columns: logical replication does not carry them. */
final class SequenceValues {

    private static final Logger log = LoggerFactory.getLogger(SequenceValues.class);

    private SequenceValues() {
    }

    static int copy(Connection source, Connection target, List<TableName> tables) throws SQLException {
        SourceCatalog catalog = new SourceCatalog(source);
        TargetCatalog targetCatalog = new TargetCatalog(target);
        int set = 0;
        for (TableName table : tables) {
            for (SequenceDefinition sequence : catalog.ownedSequences(catalog.tableOid(table), table).values()) {
                if (!targetCatalog.hasRelation(sequence.name())) {
                    log.warn("sequence {} of {} does not exist on the downstream: its value was not copied",
                            sequence.name(), table);
                    continue;
                }
                setValue(target, sequence.name(), source);
                set++;
            }
        }
        return set;
    }

    private static void setValue(Connection target, TableName sequence, Connection source) throws SQLException {
        long lastValue;
        boolean called;
        try (Statement statement = source.createStatement();
             ResultSet rs = statement.executeQuery("SELECT last_value, is_called FROM " + sequence.quoted())) {
            rs.next();
            lastValue = rs.getLong(1);
            called = rs.getBoolean(2);
        }
        try (PreparedStatement statement = target.prepareStatement("SELECT pg_catalog.setval(?::regclass, ?, ?)")) {
            statement.setString(1, sequence.quoted());
            statement.setLong(2, lastValue);
            statement.setBoolean(3, called);
            statement.execute();
        }
    }
}
