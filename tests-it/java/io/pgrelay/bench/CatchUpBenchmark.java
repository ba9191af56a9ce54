package io.pgrelay.bench;

import io.pgrelay.embedded.TreeDeletion;
import io.pgrelay.it.PgCluster;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * Catch-up of the same backlog by native logical replication, pg_recvlogical, in-backend decoding
 * and pgrelay, side by side in one run on one machine; then a two-tier chain (pgrelay and native
 * cascading) on a W1 backlog, then steady-state lag. Each consumer's slot is created before the
 * backlog is written, so all read the same WAL from the same LSN; then they run one at a time (the
 * order rotates from part to part) and each is timed from its start until its result is checked:
 * downstream content equal to the root's (row counts and row hashes), or the decoded message count.
 * A consumer that fails prints FAILED, not a number.
 *
 * <p>Run with {@code bench/run} ({@code --quick} for small sizes); options are in
 * {@link BenchOptions}. Not a test: shared machines are noisy, only ratios within one run mean
 * something. Exit code 0 when every row was measured or skipped, 1 when any FAILED, 2 for bad options.
 */
public final class CatchUpBenchmark {

    private final BenchOptions options;
    private final Tools tools;
    private final PrintStream out;
    private final PgCluster root;
    private final PgCluster down1;
    private final PgCluster down2;

    private CatchUpBenchmark(BenchOptions options, Tools tools, PrintStream out, PgCluster root, PgCluster down1,
                             PgCluster down2) {
        this.options = options;
        this.tools = tools;
        this.out = out;
        this.root = root;
        this.down1 = down1;
        this.down2 = down2;
    }

    /** What a run measured; {@link #failed()} when any row is FAILED. */
    record Report(List<ResultRow> catchUp, List<LagBenchmark.LagRow> lag) {
        boolean failed() {
            return catchUp.stream().anyMatch(r -> r.kind() == ResultRow.Kind.FAILED)
                    || lag.stream().anyMatch(r -> r.reason() != null);
        }
    }

    public static void main(String[] args) throws Exception {
        BenchOptions options;
        try {
            options = BenchOptions.fromSystemProperties();
        } catch (IllegalArgumentException e) {
            System.err.println("bench: " + e.getMessage());
            System.exit(2);
            return;
        }
        Report report = run(options, System.out);
        System.exit(report.failed() ? 1 : 0);
    }

    static Report run(BenchOptions options, PrintStream out) throws Exception {
        Path base = Path.of(System.getProperty("bench.dir", "target/bench")).toAbsolutePath();
        Files.createDirectories(base);
        Path work = Files.createTempDirectory(base, "run-");
        Tools tools = Tools.find(work);
        out.println(options.describe());
        out.println(tools.describe());
        long started = System.nanoTime();
        try (PgCluster root = cluster("bench-root"); PgCluster down1 = cluster("bench-down1");
             PgCluster down2 = cluster("bench-down2")) {
            out.println("PostgreSQL: " + root.query("postgres", "SELECT version()").get(0).get(0) + "; "
                    + Runtime.getRuntime().availableProcessors() + " CPUs; load average at start: " + loadAverage());
            if (options.classData() && runsRelays(options)) {
                long training = System.nanoTime();
                ClassDataArchive.trainAndUse(root, down1, work);
                out.printf(Locale.ROOT, "class-data archive: written by a training relay in %.1f s; every relay maps it%n",
                        (System.nanoTime() - training) / 1e9);
            }
            Report report = new CatchUpBenchmark(options, tools, out, root, down1, down2).runParts(work);
            out.printf(Locale.ROOT, "%nrun took %.0f s; load average at end: %s%n%n",
                    (System.nanoTime() - started) / 1e9, loadAverage());
            ResultTable.printCatchUp(report.catchUp(), out);
            if (!report.lag().isEmpty()) {
                out.println();
                ResultTable.printLag(report.lag(), out);
            }
            out.println();
            out.println(report.failed() ? "RESULT: FAILED (see the FAILED rows)" : "RESULT: every row checked");
            return report;
        } finally {
            ClassDataArchive.stopUsing();
            if (Boolean.getBoolean("bench.keep")) {
                out.println("kept (bench.keep): " + work);
            } else {
                CatchUpConsumer.quietly("work directory", () -> TreeDeletion.deleteIfExists(work));
            }
        }
    }

    private static boolean runsRelays(BenchOptions options) {
        return options.runs("CHAIN") || options.runs("LAG")
                || options.consumers().stream().anyMatch(kind -> kind.id().startsWith("pgrelay"));
    }

    /**
     * Same settings on every server: fsync on (real commit costs), commit timestamps for the lag
     * part. The logical replication launcher starts no worker within wal_retrieve_retry_interval
     * (5 s) of the previous start, on any subscription: subscriptions enabled one after the other
     * would wait for that, which a single subscription in production never does.
     */
    private static PgCluster cluster(String name) {
        return PgCluster.builder(name).fsync(true).setting("shared_buffers", "128MB")
                .setting("track_commit_timestamp", "on").setting("max_wal_size", "4GB")
                .setting("wal_retrieve_retry_interval", "100ms").start();
    }

    private Report runParts(Path work) throws Exception {
        List<ResultRow> rows = new ArrayList<>();
        int rotation = 0;
        for (int repetition = 1; repetition <= options.repeat(); repetition++) {
            String suffix = options.repeat() == 1 ? "" : " #" + repetition;
            for (Workload workload : Workload.values()) {
                if (options.runs(workload.name())) {
                    rows.addAll(catchUp(workload, workload.name() + suffix, work, rotation++));
                }
            }
            if (options.runs("CHAIN")) {
                rows.addAll(chain("CHAIN" + suffix, work, rotation++));
            }
        }
        List<LagBenchmark.LagRow> lag = options.runs("LAG")
                ? LagBenchmark.run(options, tools, root, down1, down2, work, rotation, out)
                : List.of();
        return new Report(rows, lag);
    }

    private List<ResultRow> catchUp(Workload workload, String part, Path work, int rotation) throws Exception {
        String unavailable = workload.unavailable(tools);
        if (unavailable != null) {
            return options.consumers().stream().map(k -> ResultRow.skipped(part, k.label(), unavailable)).toList();
        }
        String db = workload.name().toLowerCase(Locale.ROOT);
        Stage stage = new Stage(options, tools, root, down1, down2, workload, db, false, work.resolve(db));
        List<ResultRow> rows = new ArrayList<>();
        List<Entry> entries = new ArrayList<>();
        for (ConsumerKind kind : options.consumers()) {
            String missing = missingTool(kind);
            if (missing != null) {
                rows.add(ResultRow.skipped(part, kind.label(), missing));
            } else {
                entries.add(new Entry(consumer(kind, stage), baseline(kind)));
            }
        }
        rows.addAll(measure(stage, part, part + ": " + workload.describe(options), entries, rotation));
        return rows;
    }

    private List<ResultRow> chain(String part, Path work, int rotation) throws Exception {
        Stage stage = new Stage(options, tools, root, down1, down2, Workload.W1, "chain", false, work.resolve("chain"));
        List<ResultRow> rows = new ArrayList<>();
        List<Entry> entries = new ArrayList<>();
        if (tools.jar() == null) {
            rows.add(ResultRow.skipped(part, "pgrelay chain", "target/pgrelay.jar is missing: run mvn package"));
        } else {
            entries.add(new Entry(new PgrelayChain(stage), ResultRow.Baseline.NONE));
        }
        entries.add(new Entry(new NativeChain(stage), ResultRow.Baseline.NATIVE_DEFAULTS));
        String title = part + ": two tiers, backlog like W1: " + Workload.W1.describe(options);
        rows.addAll(measure(stage, part, title, entries, rotation));
        return rows;
    }

    private record Entry(CatchUpConsumer consumer, ResultRow.Baseline baseline) {
    }

    /**
     * Prepares every consumer, writes the backlog once, then lets each consumer catch up alone, in
     * an order rotated by {@code rotation}; drops the root database at the end.
     */
    private List<ResultRow> measure(Stage stage, String part, String title, List<Entry> entries, int rotation)
            throws Exception {
        List<ResultRow> rows = new ArrayList<>();
        List<Entry> ready = new ArrayList<>();
        try {
            stage.createRoot();
            for (Entry entry : entries) {
                try {
                    entry.consumer().prepare();
                    ready.add(entry);
                } catch (Exception | AssertionError e) {
                    rows.add(ResultRow.failed(part, entry.consumer().label(), "preparing: " + e.getMessage()));
                    entry.consumer().cleanup();
                }
            }
            out.printf("%s: writing the backlog ...%n", title);
            Backlog backlog;
            try {
                backlog = writeBacklog(stage);
            } catch (Exception | AssertionError e) {
                for (Entry entry : ready) {
                    String reason = "writing the backlog: " + e.getMessage();
                    rows.add(ResultRow.failed(part, entry.consumer().label(), reason));
                    entry.consumer().cleanup();
                }
                return rows;
            }
            Collections.rotate(ready, -rotation);
            for (Entry entry : ready) {
                rows.add(catchUpOne(stage, part, entry, backlog));
            }
        } finally {
            CatchUpConsumer.quietly("root database " + stage.rootDb(),
                    () -> root.execute("postgres", "DROP DATABASE IF EXISTS " + stage.rootDb()));
        }
        return rows;
    }

    private Backlog writeBacklog(Stage stage) throws Exception {
        long start = System.nanoTime();
        stage.workload().writeBacklog(root, stage.rootDb(), options, tools);
        root.execute(stage.rootDb(), "INSERT INTO " + Workload.END_TABLE + " VALUES (1)");
        String endLsn = root.query(stage.rootDb(), "SELECT pg_current_wal_lsn()::text").get(0).get(0);
        String expected = Content.snapshot(root, stage.rootDb(), stage.tables());
        out.printf(Locale.ROOT, "  written in %.1f s, ends at %s; root content: %s%n",
                (System.nanoTime() - start) / 1e9, endLsn, expected);
        return new Backlog(expected, 1, endLsn, stage.workload().rows(options), stage.workload().transactions(options));
    }

    private ResultRow catchUpOne(Stage stage, String part, Entry entry, Backlog backlog) {
        CatchUpConsumer consumer = entry.consumer();
        out.printf("  %s ... ", consumer.label());
        out.flush();
        try {
            Outcome outcome = consumer.catchUp(backlog);
            out.printf(Locale.ROOT, "%.2f s%n", outcome.seconds());
            return ResultRow.measured(part, consumer.label(), outcome, backlog.rows(), backlog.transactions(),
                    entry.baseline());
        } catch (Exception | AssertionError e) {
            out.println("FAILED: " + e);
            return ResultRow.failed(part, consumer.label(), String.valueOf(e.getMessage()));
        } finally {
            consumer.cleanup();
        }
    }

    private CatchUpConsumer consumer(ConsumerKind kind, Stage stage) {
        return switch (kind) {
            case NATIVE, NATIVE_SYNC -> new NativeSubscription(stage, kind);
            case RECVLOGICAL -> new RecvlogicalConsumer(stage);
            case DECODE -> new InBackendDecode(stage);
            case PGRELAY, PGRELAY_PARALLEL, PGRELAY_C2 -> new PgrelayConsumer(stage, kind);
        };
    }

    private static ResultRow.Baseline baseline(ConsumerKind kind) {
        return switch (kind) {
            case NATIVE -> ResultRow.Baseline.NATIVE_DEFAULTS;
            case DECODE -> ResultRow.Baseline.IN_BACKEND_DECODE;
            default -> ResultRow.Baseline.NONE;
        };
    }

    private String missingTool(ConsumerKind kind) {
        if (kind == ConsumerKind.RECVLOGICAL && tools.pgRecvlogical() == null) {
            return "pg_recvlogical not found (PATH, /usr/lib/postgresql/N/bin); install postgresql-client";
        }
        if (kind.isPgrelay() && tools.jar() == null) {
            return "target/pgrelay.jar is missing: run mvn package";
        }
        return null;
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).strip();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }
}
