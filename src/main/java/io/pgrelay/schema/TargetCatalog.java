package io.pgrelay.schema;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/** Answers which objects the downstream already has: bootstrap creates only the others. */
class TargetCatalog {

    private final Connection connection;

    TargetCatalog(Connection connection) {
        this.connection = connection;
    }

    boolean hasSchema(String schema) throws SQLException {
        return exists("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = ?", schema);
    }

    boolean hasType(TableName type) throws SQLException {
        return exists("""
                SELECT 1 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
                 WHERE n.nspname = ? AND t.typname = ?""", type.schema(), type.name());
    }

    boolean hasExtension(String extension) throws SQLException {
        return exists("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = ?", extension);
    }

    /** A table, sequence, view or index of that name: either way bootstrap must not create one. */
    boolean hasRelation(TableName relation) throws SQLException {
        return exists("""
                SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = ? AND c.relname = ?""", relation.schema(), relation.name());
    }

    private boolean exists(String sql, String... parameters) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            for (int i = 0; i < parameters.length; i++) {
                statement.setString(i + 1, parameters[i]);
            }
            try (ResultSet rs = statement.executeQuery()) {
                return rs.next();
            }
        }
    }
}
