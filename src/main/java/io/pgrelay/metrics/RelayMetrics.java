package io.pgrelay.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.pgrelay.checkpoint.Checkpoint;
import io.pgrelay.decode.PgOutputMessage.Commit;
import io.pgrelay.decode.PgOutputMessage.Relation;
import io.pgrelay.feed.Feed;
import io.pgrelay.feed.FeedSlot;
import io.pgrelay.relay.Relay;
import io.pgrelay.relay.RelayListener;
import io.pgrelay.source.StreamPositions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.postgresql.replication.LogSequenceNumber;

/**
 * The relay's Prometheus metrics (names in the README's metrics table). Events arrive through
 * {@link RelayListener}; positions and feed state are read from the relay when scraped.
 *
 * <p>Label cardinality is bounded: tables (what the publication holds), operations, sides,
 * SQLSTATE classes and feed slot names; never an LSN or a key.
 */
public class RelayMetrics implements RelayListener {

    private static final String PREFIX = "pgrelay_";
    private static final int MAX_CACHED_RELATIONS = 10_000;

    private final MeterRegistry registry;
    /**
     * Per applying thread (the apply thread, or each lane of parallel apply), so a row costs no
     * lock (see {@link #rowApplied}).
     */
    private final ThreadLocal<Map<Relation, Map<String, Counter>>> rowCounters =
            ThreadLocal.withInitial(IdentityHashMap::new);
    private final Map<String, Counter> errors = new ConcurrentHashMap<>();
    private final Counter transactions;
    private final Counter skipped;
    private final Counter updatesFolded;
    private final Counter reconnects;
    private final Timer batchDuration;
    private final DistributionSummary batchChanges;
    private final MultiGauge slotConfirmed;
    private final MultiGauge slotLag;
    private final MultiGauge slotActive;
    private final MultiGauge slotLost;
    private final Map<String, Counter> syncRows = new ConcurrentHashMap<>();
    private final Map<String, Counter> syncBytes = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicInteger syncTables = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicInteger syncTablesDone = new java.util.concurrent.atomic.AtomicInteger();
    private volatile Relay relay;
    private volatile UpstreamSlotState upstreamSlot = UpstreamSlotState.UNKNOWN;

    public RelayMetrics(MeterRegistry registry) {
        this.registry = registry;
        transactions = Counter.builder(PREFIX + "transactions_applied").description("upstream transactions applied").register(registry);
        skipped = Counter.builder(PREFIX + "transactions_skipped")
                .description("upstream transactions skipped because the checkpoint already covered them").register(registry);
        updatesFolded = Counter.builder(PREFIX + "apply_updates_folded").description(
                "UPDATEs folded into an earlier UPDATE of the same row within one downstream transaction").register(registry);
        reconnects = Counter.builder(PREFIX + "upstream_reconnects").description("sessions started again after a failure").register(registry);
        batchDuration = Timer.builder(PREFIX + "batch_duration").description("time from a downstream transaction's first change to its commit")
                .serviceLevelObjectives(millis(1), millis(5), millis(10), millis(25), millis(50), millis(100), millis(250),
                        millis(500), millis(1000), millis(2500), millis(5000), millis(10000), millis(30000), millis(60000))
                .register(registry);
        batchChanges = DistributionSummary.builder(PREFIX + "batch_changes").description("row changes per downstream transaction")
                .serviceLevelObjectives(1, 10, 100, 1_000, 10_000, 100_000, 1_000_000).register(registry);
        slotConfirmed = MultiGauge.builder(PREFIX + "feed_slot_confirmed_lsn").description("position a feed slot's client confirmed").register(registry);
        slotLag = MultiGauge.builder(PREFIX + "feed_slot_lag_bytes").baseUnit("bytes")
                .description("changelog end minus the feed slot's confirmed position").register(registry);
        slotActive = MultiGauge.builder(PREFIX + "feed_slot_active").description("1 while a client streams the feed slot").register(registry);
        Gauge.builder(PREFIX + "sync_tables", syncTables, Number::doubleValue)
                .description("tables the initial sync copies (0 when it did not run)").register(registry);
        Gauge.builder(PREFIX + "sync_tables_done", syncTablesDone, Number::doubleValue)
                .description("tables the initial sync has copied and committed").register(registry);
        slotLost = MultiGauge.builder(PREFIX + "feed_slot_lost")
                .description("1 once the feed slot fell behind feed.max-retained-bytes (wal_status = lost)").register(registry);
    }

    /** Starts reading positions and feed state from {@code relay}. */
    public void bind(Relay relay) {
        this.relay = relay;
        Gauge.builder(PREFIX + "received_lsn", () -> lsn(positions() == null ? 0 : positions().upstreamEnd().asLong()))
                .description("upstream position received while caught up (LSN as a number)").register(registry);
        Gauge.builder(PREFIX + "applied_lsn", () -> lsn(checkpointLsn()))
                .description("end LSN of the last transaction durably applied downstream (the checkpoint)").register(registry);
        Gauge.builder(PREFIX + "flushed_lsn", () -> lsn(checkpointLsn()))
                .description("position acknowledged upstream as flushed, at most the checkpoint").register(registry);
        Gauge.builder(PREFIX + "apply_lag_bytes", this::applyLagBytes).baseUnit("bytes")
                .description("upstream position minus the checkpoint").register(registry);
        Gauge.builder(PREFIX + "end_to_end_lag_seconds", this::endToEndLagSeconds).baseUnit("seconds")
                .description("now minus the root commit time of the last applied transaction (heartbeats keep it honest when idle)")
                .register(registry);
        Gauge.builder(PREFIX + "streaming", () -> relay.isStreaming() ? 1 : 0).description("1 while streaming from the upstream").register(registry);
        Gauge.builder(PREFIX + "failed", () -> relay.hasFailed() ? 1 : 0).description("1 once stopped on a failure that needs an operator").register(registry);
        Gauge.builder(PREFIX + "upstream_slot_retained_wal_bytes", () -> upstreamSlot.retainedWalBytes()).baseUnit("bytes")
                .description("WAL the upstream keeps for this relay's slot (PostgreSQL upstreams only)").register(registry);
        Gauge.builder(PREFIX + "changelog_bytes", () -> feed() == null ? 0 : feed().retainedBytes()).baseUnit("bytes")
                .description("bytes retained in the feed's changelog").register(registry);
        Gauge.builder(PREFIX + "changelog_segments", () -> feed() == null ? 0 : feed().segmentCount())
                .description("changelog segment files").register(registry);
        Gauge.builder(PREFIX + "feed_clients", () -> feed() == null ? 0 : feed().clients())
                .description("clients connected to the feed").register(registry);
    }

    /** Re-reads the per-slot series; call before each scrape. */
    public void refresh() {
        Feed feed = feed();
        if (feed == null) {
            return;
        }
        List<MultiGauge.Row<?>> confirmed = new ArrayList<>();
        List<MultiGauge.Row<?>> lag = new ArrayList<>();
        List<MultiGauge.Row<?>> active = new ArrayList<>();
        List<MultiGauge.Row<?>> lost = new ArrayList<>();
        long end = feed.changelogEnd();
        for (FeedSlot slot : feed.slots().all()) {
            Tags tags = Tags.of("slot", slot.name());
            confirmed.add(MultiGauge.Row.of(tags, lsn(slot.confirmedLsn())));
            lag.add(MultiGauge.Row.of(tags, Math.max(0, lsn(end) - lsn(slot.confirmedLsn()))));
            active.add(MultiGauge.Row.of(tags, feed.isStreaming(slot.name()) ? 1 : 0));
            lost.add(MultiGauge.Row.of(tags, slot.lost() ? 1 : 0));
        }
        slotConfirmed.register(confirmed, true);
        slotLag.register(lag, true);
        slotActive.register(active, true);
        slotLost.register(lost, true);
    }

    void upstreamSlot(UpstreamSlotState state) {
        upstreamSlot = state;
    }

    UpstreamSlotState upstreamSlot() {
        return upstreamSlot;
    }

    @Override
    public void groupCommitted(Checkpoint checkpoint, int changes, long nanos) {
        if (changes > 0) {
            batchDuration.record(nanos, TimeUnit.NANOSECONDS);
            batchChanges.record(changes);
        }
    }

    @Override
    public void transactionApplied(Commit commit) {
        transactions.increment();
    }

    @Override
    public void updatesFolded(int count) {
        updatesFolded.increment(count);
    }

    @Override
    public void unitReapplied(String reason) {
        Counter.builder(PREFIX + "apply_units_reapplied").description(
                        "parallel apply units rolled back and applied again after the earlier ones (a dependency the conflict keys missed)")
                .tag("reason", reason).register(registry).increment();
    }

    @Override
    public void transactionSkipped(LogSequenceNumber endLsn) {
        skipped.increment();
    }

    /**
     * Called per row on an applying thread, each with its own cache, looked up by
     * identity (the applier reuses one Relation per table and session) so a row costs no string
     * building. Counters themselves are shared across sessions through the registry.
     */
    @Override
    public void rowApplied(Relation relation, String operation) {
        rowsApplied(relation, operation, 1);
    }

    @Override
    public void rowsApplied(Relation relation, String operation, int count) {
        Map<Relation, Map<String, Counter>> cache = rowCounters.get();
        if (cache.size() > MAX_CACHED_RELATIONS && !cache.containsKey(relation)) {
            cache.clear(); // every session brings new Relation objects: do not keep old ones forever
        }
        Map<String, Counter> byOperation = cache.computeIfAbsent(relation, r -> new IdentityHashMap<>());
        Counter counter = byOperation.get(operation);
        if (counter == null) {
            String table = relation == null ? "unknown" : relation.qualifiedName();
            counter = Counter.builder(PREFIX + "rows_applied").description("row changes applied downstream")
                    .tags("table", table, "operation", operation).register(registry);
            byOperation.put(operation, counter);
        }
        counter.increment(count);
    }

    @Override
    public void syncPlanned(List<String> tables) {
        syncTables.set(tables.size());
        syncTablesDone.set(0);
    }

    /** From the copy threads: counters are thread-safe, the lookup is a concurrent map's. */
    @Override
    public void syncCopied(String table, long rows, long bytes) {
        // The final correction may be -1 (binary COPY's trailer counted as a row): counters only grow.
        syncCounter(syncRows, "sync_copied_rows", "rows copied by the initial sync", table, null).increment(Math.max(0, rows));
        syncCounter(syncBytes, "sync_copied_bytes", "bytes of COPY data copied by the initial sync", table, "bytes")
                .increment(bytes);
    }

    @Override
    public void syncTableDone(String table) {
        syncTablesDone.incrementAndGet();
    }

    private Counter syncCounter(Map<String, Counter> cache, String name, String description, String table, String unit) {
        return cache.computeIfAbsent(table, t -> Counter.builder(PREFIX + name).description(description).baseUnit(unit)
                .tags("table", t).register(registry));
    }

    @Override
    public void sessionFailed(String side, String sqlStateClass, boolean permanent) {
        String kind = permanent ? "permanent" : "retriable";
        errors.computeIfAbsent(side + '\0' + sqlStateClass + '\0' + kind, key -> Counter.builder(PREFIX + "errors")
                .description("sessions ended by a failure").tags("side", side, "sqlstate_class", sqlStateClass, "kind", kind)
                .register(registry)).increment();
    }

    @Override
    public void reconnecting(int attempt) {
        reconnects.increment();
    }

    double applyLagBytes() {
        StreamPositions positions = positions();
        if (positions == null) {
            return 0;
        }
        return Math.max(0, lsn(positions.upstreamEnd().asLong()) - lsn(positions.durable().endLsn().asLong()));
    }

    double endToEndLagSeconds() {
        StreamPositions positions = positions();
        Instant commitTime = positions == null ? null : positions.durable().commitTime();
        return commitTime == null ? Double.NaN : Math.max(0, (System.currentTimeMillis() - commitTime.toEpochMilli()) / 1000.0);
    }

    private long checkpointLsn() {
        StreamPositions positions = positions();
        return positions == null ? 0 : positions.durable().endLsn().asLong();
    }

    private StreamPositions positions() {
        Relay current = relay;
        return current == null ? null : current.positions();
    }

    private Feed feed() {
        Relay current = relay;
        return current == null ? null : current.feed();
    }

    private static Duration millis(long millis) {
        return Duration.ofMillis(millis);
    }

    /** An LSN as a gauge value: exact below 2^53 bytes of WAL (8 PiB). */
    private static double lsn(long lsn) {
        return lsn < 0 ? Math.scalb((double) (lsn >>> 1), 1) : (double) lsn;
    }
}
