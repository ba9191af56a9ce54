package io.pgrelay.sync;

import io.pgrelay.checkpoint.Checkpoint;
import io.pgrelay.checkpoint.CheckpointStore;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.config.RelayConfig.Endpoint;
import io.pgrelay.schema.SchemaBootstrap;
import io.pgrelay.schema.TableName;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.postgresql.PGProperty;
import org.postgresql.replication.LogSequenceNumber;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The initial copy ({@code sync.initial=true}), run before a relay streams for the first time:
 * create the upstream slot with an exported snapshot, copy every table under that snapshot
 * ({@code sync.parallel} at once), copy the sequences, then write the checkpoint = the slot's
 * consistent point in the transaction that marks the sync done. Streaming then starts at the
 * checkpoint: every transaction committed before it is in the copy, every later one comes from
 * the slot, none twice (invariant 2 does the rest).
 *
 * <p>Interrupted (a crash, {@code kill -9}), the copy resumes per table as native tablesync does
 * when the slot made for it still exists at the consistent point X recorded in
 * {@code pgrelay.sync_run} and some tables are done: those stay, and the others are emptied and
 * copied under the snapshot of a temporary slot made now, at its consistent point Y (&gt; X),
 * which each records as its sync LSN. The checkpoint is still X. For such a table T the copy
 * holds exactly the transactions that committed before Y, so the apply skips T's changes in
 * transactions whose commit LSN is below Y ({@code ResumedTables}, {@code CopyFilter}) and
 * applies the later ones: each transaction reaches T once, from the copy or from the slot. The
 * other tables hold exactly what committed before X, as in a copy that was never interrupted.
 *
 * <p>Otherwise (the slot is gone, nothing was done, below a parent relay, or a stop or failure,
 * which drops the slot) the copy starts over as a whole: the slot is made again and every table
 * this relay filled is emptied and copied under the new snapshot. Both are safe because nothing
 * was streamed yet: there is no checkpoint until the last step.
 *
 * <p>Against a parent relay's feed, the parent exports a snapshot of its own downstream taken at
 * the new feed slot's start, and the copy reads that downstream ({@code sync.source.url}).
 *
 * <p>Threads: the caller's thread creates the slot and keeps the replication connection idle
 * (which keeps the snapshot alive); {@code pgrelay-sync-N} threads copy one table each at a time.
 */
public final class InitialSync {

    private static final Logger log = LoggerFactory.getLogger(InitialSync.class);
    private static final Pattern SNAPSHOT_NAME = Pattern.compile("[0-9A-Za-z-]{1,64}");

    /** Opens a replication connection to the upstream ({@code replication=database}). */
    @FunctionalInterface
    public interface ReplicationConnector {
        Connection connect() throws SQLException;
    }

    /** A stop was requested during the copy. */
    private static final class Stopped extends Exception {
        private static final long serialVersionUID = 1L;
    }

    private final RelayConfig config;
    private final DataSource downstream;
    private final SyncListener listener;
    private final BooleanSupplier stopRequested;
    private final CheckpointStore checkpoints;
    private final SyncState state;

    public InitialSync(RelayConfig config, DataSource downstream, SyncListener listener, BooleanSupplier stopRequested) {
        this.config = config;
        this.downstream = downstream;
        this.listener = listener;
        this.stopRequested = stopRequested;
        this.checkpoints = new CheckpointStore(config.relayName(), config.upstreamSlot());
        this.state = new SyncState(config.relayName());
    }

    /**
     * Copies unless the relay already has a checkpoint. Returns false when a stop was requested
     * during the copy (nothing is kept half-way: the next start copies again).
     */
    public boolean run(ReplicationConnector connector) throws SQLException, SyncException, InterruptedException {
        Set<String> ours;
        Set<String> done = Set.of();
        String interruptedAt = null;
        try (Connection down = downstream.getConnection()) {
            checkpoints.ensureTable(down);
            state.ensureTables(down);
            Checkpoint checkpoint = checkpoints.read(down);
            if (!checkpoint.isNone()) {
                log.info("initial sync not needed: relay {} has a checkpoint ({}) in the downstream",
                        config.relayName(), checkpoint.endLsn().asString());
                return true;
            }
            if (state.run(down) == SyncState.Run.COPYING) {
                interruptedAt = state.consistentPoint(down);
                done = state.doneTables(down);
            }
            ours = state.plannedTables(down);
            state.start(down);
        }
        try (Connection replication = connector.connect()) {
            Endpoint source = source(replication);
            LogSequenceNumber resumeAt = resumable(replication, interruptedAt, done);
            if (resumeAt != null) {
                return resume(replication, source, resumeAt, ours, done);
            }
            if (interruptedAt != null || !ours.isEmpty()) {
                log.warn("an earlier initial sync of relay {} was interrupted: starting it over under a new snapshot "
                        + "(the tables it filled are emptied again)", config.relayName());
            }
            if (SnapshotSlot.dropIfExists(replication, config.upstreamSlot())) {
                log.warn("dropped upstream slot {}: nothing was streamed from it and its snapshot is gone",
                        config.upstreamSlot());
            }
            SnapshotSlot slot = SnapshotSlot.create(replication, config.upstreamSlot(), false);
            try (Connection down = downstream.getConnection()) {
                state.slotCreated(down, slot.consistentPoint().asString());
            } catch (SQLException | RuntimeException e) {
                dropQuietly(replication, slot.name());
                throw e;
            }
            try {
                return copy(slot.consistentPoint(), slot, source, ours, Set.of());
            } catch (Stopped e) {
                dropQuietly(replication, slot.name());
                return false;
            } catch (SQLException | SyncException | RuntimeException e) {
                dropQuietly(replication, slot.name());
                throw e;
            }
        }
    }

    /**
     * The consistent point to resume at, or null (with the reason logged) when the interrupted
     * copy must start over as a whole.
     */
    private LogSequenceNumber resumable(Connection replication, String interruptedAt, Set<String> done)
            throws SQLException {
        if (interruptedAt == null) {
            return null; // a first start, or the slot was never made
        }
        String why;
        if (isChild()) {
            why = "below a parent relay the copy always starts over";
        } else if (done.isEmpty()) {
            why = "no table was done yet";
        } else if (!sameLsn(interruptedAt, slotPosition(replication))) {
            why = "upstream slot " + config.upstreamSlot() + " is gone or no longer at its consistent point " + interruptedAt;
        } else {
            log.warn("an earlier initial sync of relay {} was interrupted: resuming it per table ({} table(s) done are "
                    + "kept; slot {} is still at its consistent point {})", config.relayName(), done.size(),
                    config.upstreamSlot(), interruptedAt);
            return LogSequenceNumber.valueOf(interruptedAt);
        }
        log.info("initial sync of relay {} cannot resume per table: {}", config.relayName(), why);
        return null;
    }

    private static boolean sameLsn(String expected, String actual) {
        return actual != null && LogSequenceNumber.valueOf(expected).asLong() == LogSequenceNumber.valueOf(actual).asLong();
    }

    /** The confirmed position of this relay's upstream slot, or null when it does not exist. */
    private String slotPosition(Connection replication) throws SQLException {
        try (Statement statement = replication.createStatement();
             ResultSet rs = statement.executeQuery("SELECT confirmed_flush_lsn::text FROM pg_catalog.pg_replication_slots"
                     + " WHERE slot_name = '" + config.upstreamSlot().replace("'", "''") + "'")) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /**
     * Copies the tables that are not done under the snapshot of a temporary slot made now, keeps
     * the done ones and finishes at the original slot's consistent point (see the class comment).
     */
    private boolean resume(Connection replication, Endpoint source, LogSequenceNumber consistentPoint,
                           Set<String> ours, Set<String> done)
            throws SQLException, SyncException, InterruptedException {
        String name = temporarySlotName();
        SnapshotSlot temporary = SnapshotSlot.create(replication, name, true);
        try {
            boolean finished = copy(consistentPoint, temporary, source, ours, done);
            dropQuietly(replication, name);
            return finished;
        } catch (Stopped e) {
            dropQuietly(replication, name);
            dropQuietly(replication, config.upstreamSlot());
            return false;
        } catch (SQLException | SyncException | RuntimeException e) {
            dropQuietly(replication, name);
            dropQuietly(replication, config.upstreamSlot());
            throw e;
        }
    }

    /** A slot name of its own per attempt (at most 63 characters): an old attempt's may linger a moment. */
    private String temporarySlotName() {
        String base = config.upstreamSlot();
        return base.substring(0, Math.min(base.length(), 40)) + "_resume_" + Long.toString(System.currentTimeMillis(), 36);
    }

    /**
     * A slot from which nothing was streamed only holds WAL on the upstream: a failed copy drops
     * it (a new attempt makes it again), so a relay stopped on an error does not fill the root's disk.
     */
    private static void dropQuietly(Connection replication, String slot) {
        try {
            if (SnapshotSlot.dropIfExists(replication, slot)) {
                log.info("dropped upstream slot {}", slot);
            }
        } catch (SQLException e) {
            log.warn("could not drop upstream slot {} after the copy ({}): drop it on the upstream if this "
                    + "relay is not started again", slot, e.getMessage());
        }
    }

    /**
     * Copies the tables the source lists under {@code reading}'s snapshot, except those in
     * {@code done} (kept from an interrupted attempt), then finishes with the checkpoint at
     * {@code consistentPoint}.
     */
    private boolean copy(LogSequenceNumber consistentPoint, SnapshotSlot reading, Endpoint source, Set<String> ours,
                         Set<String> done)
            throws SQLException, SyncException, InterruptedException, Stopped {
        if (!SNAPSHOT_NAME.matcher(reading.snapshot()).matches()) {
            throw new SQLException("the upstream exported a snapshot with an unexpected name", "08P01");
        }
        log.info("created upstream slot {} at consistent point {}; copying under snapshot {} from {}",
                reading.name(), reading.consistentPoint().asString(), reading.snapshot(), source);
        long started = System.nanoTime();
        List<SyncTable> tables = tables(source, reading.snapshot());
        if (isChild() && config.schema().create()) {
            createMissingTables(source, reading.snapshot(), tables);
        }
        List<SyncTable> todo;
        try (Connection down = downstream.getConnection()) {
            todo = done.isEmpty() ? tables : DownstreamTargets.toCopy(down, tables, done);
            DownstreamTargets.check(down, todo, ours, config.sync().truncate());
            if (done.isEmpty()) {
                state.plan(down, tables);
            } else {
                state.replan(down, todo);
            }
            DownstreamTargets.empty(down, todo);
        }
        listener.syncPlanned(tables.stream().map(SyncTable::label).toList());
        for (SyncTable table : tables) {
            if (!todo.contains(table)) {
                listener.syncTableDone(table.label());
                log.info("kept table {}: copied by the interrupted attempt", table.label());
            }
        }
        if (!copyAll(todo, source, reading.snapshot(), reading.consistentPoint().asString())) {
            log.info("initial sync stopped before it finished: the next start copies again");
            throw new Stopped();
        }
        finish(tables, source, consistentPoint);
        log.info("initial sync of {} tables ({} copied now) done in {} s; streaming from {}", tables.size(), todo.size(),
                (System.nanoTime() - started) / 1_000_000_000L, consistentPoint.asString());
        return true;
    }

    /**
     * Below a parent relay the upstream is a feed, which has no catalog: missing tables are
     * created from the parent's downstream, read under the same snapshot as the rows. (Above a
     * PostgreSQL upstream the session bootstrapped them before the sync.)
     */
    private void createMissingTables(Endpoint source, String snapshot, List<SyncTable> tables) throws SQLException {
        List<TableName> names = tables.stream().map(table -> new TableName(table.schema(), table.name())).toList();
        try (Connection reader = openUnderSnapshot(source, snapshot); Connection down = downstream.getConnection()) {
            SchemaBootstrap.bootstrap(reader, down, names);
        }
    }

    /** Where the copy reads: the upstream itself, or {@code sync.source.url} below a parent relay. */
    private Endpoint source(Connection replication) throws SQLException, SyncException {
        boolean feed = RelayedTables.isFeed(replication);
        Endpoint configured = config.sync().source();
        if (feed && configured == null) {
            throw new SyncException("upstream.url is a pgrelay feed: set sync.source.url (and sync.source.user, "
                    + "sync.source.password) to the parent relay's downstream database, where the initial copy reads");
        }
        if (!feed && configured != null) {
            throw new SyncException("sync.source.url is set but upstream.url is a PostgreSQL server: the copy reads "
                    + "the upstream itself; remove sync.source.url");
        }
        return feed ? configured : config.upstream();
    }

    private boolean isChild() {
        return config.sync().source() != null;
    }

    private List<SyncTable> tables(Endpoint source, String snapshot) throws SQLException, SyncException {
        try (Connection reader = openUnderSnapshot(source, snapshot)) {
            List<SyncTable> tables = isChild() ? SourceCatalog.relayed(reader)
                    : SourceCatalog.published(reader, config.publications());
            reader.commit();
            List<SyncTable> largestFirst = new ArrayList<>(tables);
            largestFirst.sort(Comparator.comparingLong(SyncTable::estimatedRows).reversed());
            return largestFirst;
        }
    }

    /** Copies every table, {@code sync.parallel} at once; false when stopped. The first failure wins. */
    private boolean copyAll(List<SyncTable> tables, Endpoint source, String snapshot, String syncLsn)
            throws SQLException, SyncException, InterruptedException {
        AtomicReference<Exception> failure = new AtomicReference<>();
        BooleanSupplier abandon = () -> failure.get() != null || stopRequested.getAsBoolean();
        ExecutorService workers = Executors.newFixedThreadPool(config.sync().parallel(), threads());
        try {
            for (SyncTable table : tables) {
                workers.execute(() -> {
                    if (abandon.getAsBoolean()) {
                        return;
                    }
                    try {
                        copyOne(table, source, snapshot, syncLsn, abandon);
                    } catch (TableCopy.Abandoned e) {
                        log.debug("copy of {} abandoned", table.label());
                    } catch (Exception e) {
                        failure.compareAndSet(null, e);
                    }
                });
            }
            workers.shutdown();
            while (!workers.awaitTermination(1, TimeUnit.SECONDS)) {
                // Copies check the stop flag between rows; waiting here keeps no thread behind.
            }
        } finally {
            workers.shutdownNow();
        }
        Exception first = failure.get();
        if (first instanceof SQLException sql) {
            throw sql;
        }
        if (first instanceof SyncException sync) {
            throw sync;
        }
        if (first != null) {
            throw new IllegalStateException("table copy failed: " + first, first);
        }
        return !stopRequested.getAsBoolean();
    }

    private void copyOne(SyncTable table, Endpoint source, String snapshot, String syncLsn, BooleanSupplier abandon)
            throws SQLException, SyncException, TableCopy.Abandoned {
        try (Connection reader = openUnderSnapshot(source, snapshot);
             Connection down = downstream.getConnection()) {
            boolean binary = DownstreamTargets.binaryFits(reader, down, table);
            new TableCopy(table, binary, state, listener, syncLsn).run(reader, down, abandon);
            reader.commit();
        }
    }

    /**
     * Copies the sequences and marks the sync done with the checkpoint at the consistent point,
     * in one downstream transaction: from then on the relay is an ordinary streaming relay.
     */
    private void finish(List<SyncTable> tables, Endpoint source, LogSequenceNumber consistentPoint) throws SQLException {
        try (Connection reader = open(source);
             Connection down = downstream.getConnection()) {
            down.setAutoCommit(false);
            try {
                int sequences = SequenceCopy.copy(reader, down, tables);
                state.finish(down, consistentPoint.asString());
                state.recordRelayed(down, tables.stream().map(t -> new String[] {t.schema(), t.name()}).toList());
                checkpoints.write(down, new Checkpoint(consistentPoint, null));
                down.commit();
                log.info("copied {} sequence value(s); checkpoint set to the consistent point {}", sequences,
                        consistentPoint.asString());
            } catch (SQLException | RuntimeException e) {
                down.rollback();
                throw e;
            } finally {
                down.setAutoCommit(true);
            }
        }
    }

    /** A source connection inside a repeatable-read transaction that sees exactly {@code snapshot}. */
    private Connection openUnderSnapshot(Endpoint source, String snapshot) throws SQLException {
        Connection connection = open(source);
        try {
            connection.setAutoCommit(false);
            connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try (Statement statement = connection.createStatement()) {
                statement.execute("SET TRANSACTION SNAPSHOT '" + snapshot + "'");
            }
            return connection;
        } catch (SQLException | RuntimeException e) {
            connection.close();
            throw e;
        }
    }

    private Connection open(Endpoint source) throws SQLException {
        Properties props = new Properties();
        PGProperty.USER.set(props, source.user());
        if (!source.password().isEmpty()) {
            PGProperty.PASSWORD.set(props, source.password().reveal());
        }
        PGProperty.APPLICATION_NAME.set(props, "pgrelay-sync:" + config.relayName());
        PGProperty.TCP_KEEP_ALIVE.set(props, true);
        PGProperty.CONNECT_TIMEOUT.set(props, 10);
        return DriverManager.getConnection(source.url(), props);
    }

    private static java.util.concurrent.ThreadFactory threads() {
        AtomicInteger next = new AtomicInteger(1);
        return body -> {
            Thread thread = new Thread(body, "pgrelay-sync-" + next.getAndIncrement());
            thread.setDaemon(true);
            return thread;
        };
    }
}
