package io.pgrelay.schema;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates on the downstream what the replicated tables need and the downstream lacks —
 * schemas, extensions and user types, owned sequences, tables with their columns, defaults,
 * NOT NULL, primary key and replica identity — read from a source catalog: the upstream
 * server, or for a child relay its parent's downstream database. Everything is created in one
 * downstream transaction: all of it or nothing. Existing objects are never altered.
 *
 * <p>Entry points for the initial sync: {@link #bootstrap} before copying,
 * {@link #copySequenceValues} after it.
 */
public final class SchemaBootstrap {

    private static final Logger log = LoggerFactory.getLogger(SchemaBootstrap.class);

    private SchemaBootstrap() {
    }

    /**
     * Reads {@code tables} from {@code source} and creates what {@code target} lacks.
     *
     * @param source an ordinary connection to the source database; only read (its search_path is
     *               restored afterwards, it may be inside the sync's snapshot transaction)
     * @param target a downstream connection; its auto-commit setting is restored afterwards
     * @return what was created, one description per object (empty when nothing was missing)
     */
    public static List<String> bootstrap(Connection source, Connection target, List<TableName> tables) throws SQLException {
        return create(read(source, tables), target);
    }

    /**
     * As {@link #bootstrap}, for the tables that {@code publications} publish on {@code source}
     * (a PostgreSQL upstream), with only the columns they send when a publication has a column list.
     */
    public static List<String> bootstrapPublished(Connection source, Connection target, List<String> publications)
            throws SQLException {
        return create(readPublished(source, publications), target);
    }

    /** The definitions of the tables (and their columns) that {@code publications} publish on {@code source}. */
    public static SourceSchema readPublished(Connection source, List<String> publications) throws SQLException {
        return new SourceCatalog(source).read(SourceCatalog.publishedTables(source, publications),
                SourceCatalog.publishedColumns(source, publications));
    }

    /** The tables that {@code publications} publish on {@code source} (partitioned roots when published via the root). */
    public static List<TableName> publishedTables(Connection source, List<String> publications) throws SQLException {
        return SourceCatalog.publishedTables(source, publications);
    }

    /** The definitions of {@code tables} and of the types and sequences they use, from {@code source}. */
    public static SourceSchema read(Connection source, List<TableName> tables) throws SQLException {
        return new SourceCatalog(source).read(tables);
    }

    /** Creates on {@code target} what {@code schema} has and it lacks, in one transaction. */
    public static List<String> create(SourceSchema schema, Connection target) throws SQLException {
        DdlPlan plan = DdlPlan.of(schema, new TargetCatalog(target));
        if (plan.isEmpty()) {
            log.info("schema bootstrap: the downstream has every table the upstream publishes ({} tables)",
                    schema.tables().size());
            return List.of();
        }
        boolean autoCommit = target.getAutoCommit();
        target.setAutoCommit(false);
        List<String> created = new ArrayList<>();
        try (Statement statement = target.createStatement()) {
            for (DdlPlan.Step step : plan.steps()) {
                execute(statement, step);
                created.add(step.object());
            }
            target.commit();
        } catch (SQLException | RuntimeException e) {
            target.rollback();
            throw e;
        } finally {
            target.setAutoCommit(autoCommit);
        }
        created.forEach(object -> log.info("schema bootstrap created {}", object));
        log.info("schema bootstrap: created {} objects on the downstream", created.size());
        return created;
    }

    private static void execute(Statement statement, DdlPlan.Step step) throws SQLException {
        try {
            statement.execute(step.sql());
        } catch (SQLException e) {
            String message = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
            throw new SQLException("schema bootstrap could not create " + step.object() + ": " + message
                    + " (statement: " + step.sql().replace("\n", " ") + ")", e.getSQLState());
        }
    }

    /**
     * Sets each sequence owned by a column of {@code tables} on {@code target} to its value on
     * {@code source} (last value and whether it was called), for sequences that exist on both.
     * Run after the copy, so the downstream continues where the source was.
     *
     * @return the number of sequences set
     */
    public static int copySequenceValues(Connection source, Connection target, List<TableName> tables) throws SQLException {
        return SequenceValues.copy(source, target, tables);
    }
}
