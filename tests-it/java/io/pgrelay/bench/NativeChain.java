package io.pgrelay.bench;

import io.pgrelay.it.PgCluster;

/**
 * Native cascading: a subscription in d1 (down1) reads the root; d1 publishes every table again
 * and a subscription in d2 (down2) reads d1 through a slot made beforehand. Both subscriptions use
 * CREATE SUBSCRIPTION's defaults; the chain starts when d1's subscription is enabled.
 */
final class NativeChain implements TwoTierChain {

    private final Stage stage;
    private final String rootSlot;
    private final String d1Slot;
    private final String d1;
    private final String d2;

    NativeChain(Stage stage) {
        this.stage = stage;
        this.rootSlot = stage.name("native_chain");
        this.d1Slot = stage.name("native_chain_2");
        this.d1 = stage.name("native_chain_1");
        this.d2 = stage.name("native_chain_2");
    }

    @Override
    public String label() {
        return "native cascade: root -> d1 -> d2 (defaults)";
    }

    @Override
    public void prepare() throws Exception {
        Slots.createPgoutput(stage.root(), stage.rootDb(), rootSlot);
        stage.createDownstream(stage.down1(), d1);
        stage.down1().execute(d1, stage.publication());
        Slots.createPgoutput(stage.down1(), d1, d1Slot);
        stage.createDownstream(stage.down2(), d2);
        stage.down2().execute(d2, NativeSubscription.create("s2", Stage.connInfo(stage.down1(), d1), d1Slot, true, ""));
        stage.down1().execute(d1, NativeSubscription.create("s1", Stage.connInfo(stage.root(), stage.rootDb()),
                rootSlot, false, ""));
    }

    @Override
    public void start() throws Exception {
        stage.down1().execute(d1, "ALTER SUBSCRIPTION s1 ENABLE");
    }

    @Override
    public PgCluster cluster(int tier) {
        return tier == 1 ? stage.down1() : stage.down2();
    }

    @Override
    public String database(int tier) {
        return tier == 1 ? d1 : d2;
    }

    @Override
    public void requireHealthy() throws Exception {
        NativeSubscription.requireNoApplyErrors(stage.down1(), d1);
        NativeSubscription.requireNoApplyErrors(stage.down2(), d2);
    }

    @Override
    public Outcome.Memory finishMemory() {
        return null;
    }

    @Override
    public void stop() throws Exception {
        NativeSubscription.drop(stage.down1(), d1, "s1");
        NativeSubscription.drop(stage.down2(), d2, "s2");
    }

    @Override
    public Outcome catchUp(Backlog backlog) throws Exception {
        return catchUp(stage, backlog);
    }

    @Override
    public void cleanup() {
        CatchUpConsumer.quietly(label(),
                () -> NativeSubscription.drop(stage.down2(), d2, "s2"),
                () -> NativeSubscription.drop(stage.down1(), d1, "s1"),
                () -> Slots.drop(stage.down1(), d1, d1Slot),
                () -> stage.down2().execute("postgres", "DROP DATABASE IF EXISTS " + d2),
                () -> stage.down1().execute("postgres", "DROP DATABASE IF EXISTS " + d1),
                () -> Slots.drop(stage.root(), stage.rootDb(), rootSlot));
    }
}
