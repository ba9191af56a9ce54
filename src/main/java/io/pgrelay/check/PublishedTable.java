package io.pgrelay.check;

import io.pgrelay.sql.Identifiers;
import java.util.List;

/**
 * A table the upstream publications carry, as the upstream catalog describes it: the columns
 * pgoutput sends (name and {@code format_type}) and which operations are published.
 */
public record PublishedTable(String schema, String name, List<Column> columns,
                             boolean inserts, boolean updates, boolean deletes, boolean truncates) {

    public PublishedTable {
        columns = List.copyOf(columns);
    }

    public record Column(String name, String type) {}

    /** {@code schema.name}, quoted only where PostgreSQL needs it: for reports and fixes. */
    public String displayName() {
        return display(schema) + "." + display(name);
    }

    static String display(String identifier) {
        return identifier.matches("[a-z_][a-z0-9_$]*") ? identifier : quote(identifier);
    }

    static String quote(String identifier) {
        return Identifiers.quote(identifier);
    }
}
