package io.pgrelay.schema;

import java.util.List;

/**
 * The definitions bootstrap needs, read from one source catalog: types in dependency order
 * (each after the types it uses), owned sequences, tables.
 */
public record SourceSchema(List<TypeDefinition> types, List<SequenceDefinition> sequences,
                           List<TableDefinition> tables) {
    public SourceSchema {
        types = List.copyOf(types);
        sequences = List.copyOf(sequences);
        tables = List.copyOf(tables);
    }
}
