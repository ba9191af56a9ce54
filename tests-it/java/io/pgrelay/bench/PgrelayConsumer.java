package io.pgrelay.bench;

import io.pgrelay.embedded.TreeDeletion;
import io.pgrelay.process.RelayProcess;

/**
 * pgrelay as an operating-system process ({@code java -Xmx256m -jar pgrelay.jar run}), timed from
 * the process start, so JVM start-up and connecting are part of its time. Its heap is watched
 * through its /metrics.
 */
final class PgrelayConsumer implements CatchUpConsumer {

    private final Stage stage;
    private final String slot;
    private final String db;
    private RelayProcess relay;
    private HeapSampler sampler;

    PgrelayConsumer(Stage stage) {
        this.stage = stage;
        this.slot = stage.name(ConsumerKind.PGRELAY.id());
        this.db = stage.name(ConsumerKind.PGRELAY.id());
    }

    @Override
    public String label() {
        return ConsumerKind.PGRELAY.label();
    }

    @Override
    public void prepare() throws Exception {
        Slots.createPgoutput(stage.root(), stage.rootDb(), slot);
        stage.createDownstream(stage.down1(), db);
    }

    @Override
    public Outcome catchUp(Backlog backlog) throws Exception {
        int httpPort = Pgrelay.freePort();
        var config = Pgrelay.config(slot, stage.root().jdbcUrl(stage.rootDb()), stage.root().user(),
                stage.root().password(), stage.down1(), db, httpPort, stage.options().pgrelayExtra());
        long start = System.nanoTime();
        long deadline = start + stage.options().timeout().toNanos();
        relay = RelayProcess.start(slot, stage.work(), config);
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
