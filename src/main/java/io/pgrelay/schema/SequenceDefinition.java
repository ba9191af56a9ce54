package io.pgrelay.schema;

/**
 * A sequence owned by a column of a source table (serial or identity), with its options.
 *
 * @param owner       the table whose column owns it
 * @param ownerColumn that column
 */
record SequenceDefinition(TableName name, String dataType, long start, long increment, long min, long max,
                          long cache, boolean cycle, TableName owner, String ownerColumn) {}
