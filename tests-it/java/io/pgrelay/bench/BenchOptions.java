package io.pgrelay.bench;

import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

/**
 * What one benchmark run does, from system properties ({@code bench/run -Dbench.x=y}).
 * {@code bench.quick=true} (bench/run --quick) shrinks every size so the whole run takes a minute
 * or two: it checks the harness, its figures mean little.
 *
 * @param parts        which parts run: W1, W2, W3 (catch-up), CHAIN (two tiers, W1 backlog), LAG (steady state)
 * @param consumers    which single-tier consumers run in W1..W3 (see {@link ConsumerKind})
 * @param rows         rows of W1 and W3
 * @param rowsPerTxn   rows per transaction of W1
 * @param w2Txns       pgbench transactions of W2 (split over {@code w2Clients})
 * @param lagTps       steady load of the lag part, TPC-B transactions per second
 * @param lagSeconds   how long the steady load runs per system, measured
 * @param lagWarmUpSeconds how long the same load runs before, not measured
 * @param timeout      longest wait for one consumer to catch up; longer is FAILED
 * @param repeat       how often the catch-up parts (W1..W3, CHAIN) run, each time with a new
 *                     backlog and the next consumer first
 * @param pgrelayExtra extra pgrelay settings from {@code -Dbench.pgrelay.KEY=VALUE}
 * @param classData    relays map a class-data archive written by a training run first, as
 *                     {@code bin/pgrelay run} does after its first run ({@code bench.cds}, default true)
 */
record BenchOptions(boolean quick, Set<String> parts, Set<ConsumerKind> consumers, int rows, int rowsPerTxn,
                    int w2Txns, int w2Clients, int lagTps, int lagSeconds, int lagWarmUpSeconds, Duration timeout,
                    int repeat,
                    Map<String, String> pgrelayExtra, boolean classData) {

    static final List<String> ALL_PARTS = List.of("W1", "W2", "W3", "CHAIN", "LAG");
    private static final String PGRELAY_PREFIX = "bench.pgrelay.";

    static BenchOptions fromSystemProperties() {
        return from(System.getProperties());
    }

    static BenchOptions from(Properties p) {
        boolean quick = Boolean.parseBoolean(p.getProperty("bench.quick", "false"));
        Set<String> parts = new LinkedHashSet<>();
        for (String part : list(p.getProperty("bench.workloads", String.join(",", ALL_PARTS)))) {
            String upper = part.toUpperCase(Locale.ROOT);
            if (!ALL_PARTS.contains(upper)) {
                throw new IllegalArgumentException("bench.workloads: unknown part '" + part + "'; use some of "
                        + ALL_PARTS);
            }
            parts.add(upper);
        }
        Set<ConsumerKind> consumers = new LinkedHashSet<>();
        for (String id : list(p.getProperty("bench.consumers", ConsumerKind.allIds()))) {
            consumers.add(ConsumerKind.byId(id));
        }
        Map<String, String> extra = new TreeMap<>();
        for (String key : p.stringPropertyNames()) {
            if (key.startsWith(PGRELAY_PREFIX)) {
                extra.put(key.substring(PGRELAY_PREFIX.length()), p.getProperty(key));
            }
        }
        return new BenchOptions(quick, parts, consumers,
                integer(p, "bench.rows", quick ? 20_000 : 500_000),
                integer(p, "bench.rowsPerTxn", 1_000),
                integer(p, "bench.w2.transactions", quick ? 2_000 : 50_000),
                integer(p, "bench.w2.clients", 4),
                integer(p, "bench.lag.tps", 300),
                integer(p, "bench.lag.seconds", quick ? 5 : 20),
                integer(p, "bench.lag.warmup", quick ? 2 : 10),
                Duration.ofSeconds(integer(p, "bench.timeout", quick ? 120 : 600)),
                integer(p, "bench.repeat", 1),
                extra, Boolean.parseBoolean(p.getProperty("bench.cds", "true")));
    }

    boolean runs(String part) {
        return parts.contains(part);
    }

    private static List<String> list(String value) {
        return Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    private static int integer(Properties p, String key, int fallback) {
        String value = p.getProperty(key);
        if (value == null || value.isBlank()) {
            return fallback;
        }
        try {
            int parsed = Integer.parseInt(value.trim().replace("_", ""));
            if (parsed <= 0) {
                throw new NumberFormatException();
            }
            return parsed;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + "=" + value + " is not a positive integer");
        }
    }

    /** One line for the report header. */
    String describe() {
        return String.format(Locale.ROOT, "%s run: parts %s; consumers %s; W1/W3 %,d rows (W1 in %,d-row txns); "
                        + "W2 %,d pgbench txns, %d clients; lag %d tps for %d s after %d s warm-up; timeout %d s;"
                        + " %d repetition(s); relays %s a class-data archive%s",
                quick ? "quick" : "full", parts, consumers.stream().map(ConsumerKind::id).toList(), rows, rowsPerTxn,
                w2Txns, w2Clients, lagTps, lagSeconds, lagWarmUpSeconds, timeout.toSeconds(), repeat,
                classData ? "map" : "without", pgrelayExtra.isEmpty() ? "" : "; pgrelay settings " + pgrelayExtra);
    }
}
