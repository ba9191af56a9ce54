package io.pgrelay.bench;

import io.pgrelay.embedded.TreeDeletion;
import io.pgrelay.it.fault.FaultProxy;
import io.pgrelay.process.RelayProcess;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * pgrelay as an operating-system process ({@code java -Xmx256m -jar pgrelay.jar run}), timed from
 * the process start, so JVM start-up and connecting are part of its time. Its heap is watched
 * through its /metrics.
 *
 * <p>Three kinds: serial apply ({@code apply.workers=1}, what a 2-core machine picks by itself),
 * parallel apply ({@code apply.workers=4}), and serial apply with the JVM's default JIT (both C1
 * and C2) instead of the quick JIT alone that the systemd units and the image ship. With {@code -Dbench.downstream.delay=MS} the relay
 * reaches its downstream through a proxy that holds every chunk that long, a far or slow
 * downstream, where parallel connections hide the round trips.
 */
final class PgrelayConsumer implements CatchUpConsumer {

    private final Stage stage;
    private final ConsumerKind kind;
    private final String slot;
    private final String db;
    private RelayProcess relay;
    private HeapSampler sampler;
    private FaultProxy proxy;

    PgrelayConsumer(Stage stage, ConsumerKind kind) {
        this.stage = stage;
        this.kind = kind;
        this.slot = stage.name(kind.id().replace('-', '_'));
        this.db = stage.name(kind.id().replace('-', '_'));
    }

    @Override
    public String label() {
        return kind.label();
    }

    @Override
    public void prepare() throws Exception {
        Slots.createPgoutput(stage.root(), stage.rootDb(), slot);
        stage.createDownstream(stage.down1(), db);
    }

    @Override
    public Outcome catchUp(Backlog backlog) throws Exception {
        int httpPort = Pgrelay.freePort();
        Map<String, String> settings = new TreeMap<>();
        settings.put("apply.workers", kind == ConsumerKind.PGRELAY_PARALLEL ? "4" : "1");
        settings.putAll(stage.options().pgrelayExtra());
        var config = Pgrelay.config(slot, stage.root().jdbcUrl(stage.rootDb()), stage.root().user(),
                stage.root().password(), stage.down1(), db, httpPort, settings);
        long delay = Long.getLong("bench.downstream.delay", 0);
        if (delay > 0) {
            proxy = FaultProxy.start("downstream-delay", "127.0.0.1", stage.down1().port());
            proxy.delay(Duration.ofMillis(delay));
            config.setProperty("downstream.url", proxy.jdbcUrl(db));
        }
        long start = System.nanoTime();
        long deadline = start + stage.options().timeout().toNanos();
        relay = RelayProcess.start(slot, stage.work(), config, Map.of(),
                kind == ConsumerKind.PGRELAY_C2 ? List.of("-XX:TieredStopAtLevel=4") : List.of());
        sampler = new HeapSampler(httpPort);
        long equal = Content.awaitEqual(stage.down1(), db, stage.tables(), backlog.expected(), backlog.marker(),
                deadline, () -> Pgrelay.requireAlive(relay));
        Outcome.Memory memory = sampler.finish(relay.pid(), stage.tools().jcmd(), stage.work());
        Pgrelay.stop(relay);
        return new Outcome((equal - start) / 1e9, Double.NaN, memory);
    }

    @Override
    public void cleanup() {
        CatchUpConsumer.quietly(label(),
                () -> {
                    if (proxy != null) {
                        proxy.close();
                    }
                },
                () -> {
                    if (sampler != null) {
                        sampler.close();
                    }
                },
                () -> {
                    if (relay != null) {
                        relay.close();
                        if (!Boolean.getBoolean("bench.keep")) {
                            TreeDeletion.deleteIfExists(relay.dir());
                        }
                    }
                },
                () -> stage.down1().execute("postgres", "DROP DATABASE IF EXISTS " + db),
                () -> Slots.drop(stage.root(), stage.rootDb(), slot));
    }
}
