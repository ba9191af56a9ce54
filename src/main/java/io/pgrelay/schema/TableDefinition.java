package io.pgrelay.schema;

import java.util.List;

/**
 * What bootstrap recreates of one source table: columns, primary key, replica identity. A
 * partitioned table (published via its root) is described like a plain table.
 *
 * @param primaryKey       {@code CONSTRAINT "name" PRIMARY KEY (...)}, or null
 * @param identityIndex    DDL creating the REPLICA IDENTITY USING INDEX index when it is not the
 *                         primary key, or null
 * @param replicaIdentity  the clause for {@code ALTER TABLE ... REPLICA IDENTITY}, or null for DEFAULT
 */
record TableDefinition(TableName name, List<Column> columns, String primaryKey, String identityIndex,
                       String replicaIdentity) {

    TableDefinition {
        columns = List.copyOf(columns);
    }

    /**
     * @param type       formatted type, schema-qualified unless in pg_catalog
     * @param typeOid    the source's type oid, to find the user types it needs
     * @param collation  {@code COLLATE ...} target when it differs from the type's, else null
     * @param defaultSql default expression, or null
     * @param generated  generation expression of a stored generated column, or null
     */
    record Column(String name, String type, int typeOid, boolean notNull, String collation, String defaultSql,
                  String generated) {}
}
