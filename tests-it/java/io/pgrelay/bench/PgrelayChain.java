package io.pgrelay.bench;

import io.pgrelay.embedded.TreeDeletion;
import io.pgrelay.it.PgCluster;
import io.pgrelay.process.RelayProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;

/**
 * pgrelay cascading: R1 reads the root, applies into d1 (down1) and serves its feed; R2 reads R1's
 * feed through a feed slot made beforehand ({@code pgrelay slot create}) and applies into d2
 * (down2). Both are processes started together; the heap figures are R1's (it also keeps the
 * changelog).
 */
final class PgrelayChain implements TwoTierChain {

    private static final String FEED_SLOT = "to_r2";
    private static final String FEED_USER = "child";
    private static final String FEED_PASSWORD = "bench-feed-pw";
    private static final Duration SETUP_WAIT = Duration.ofSeconds(60);

    private final Stage stage;
    private final String rootSlot;
    private final String d1;
    private final String d2;
    private final Path dir;
    private Properties r1Config;
    private Properties r2Config;
    private RelayProcess r1;
    private RelayProcess r2;
    private HeapSampler sampler;

    PgrelayChain(Stage stage) {
        this.stage = stage;
        this.rootSlot = stage.name("pgrelay_chain");
        this.d1 = stage.name("pgrelay_chain_1");
        this.d2 = stage.name("pgrelay_chain_2");
        this.dir = stage.work().resolve(rootSlot);
    }

    @Override
    public String label() {
        return "pgrelay chain: root -> R1 -> R2 (processes)";
    }

    @Override
    public void prepare() throws Exception {
        Slots.createPgoutput(stage.root(), stage.rootDb(), rootSlot);
        stage.createDownstream(stage.down1(), d1);
        stage.createDownstream(stage.down2(), d2);
        int feedPort = Pgrelay.freePort();
        r1Config = Pgrelay.config(rootSlot, stage.root().jdbcUrl(stage.rootDb()), stage.root().user(),
                stage.root().password(), stage.down1(), d1, Pgrelay.freePort(), stage.options().pgrelayExtra());
        r1Config.setProperty("relay.name", "r1");
        r1Config.setProperty("feed.listen", "127.0.0.1:" + feedPort);
        r1Config.setProperty("feed.user", FEED_USER);
        r1Config.setProperty("feed.password", FEED_PASSWORD);
        r1Config.setProperty("data.dir", dir.resolve("r1-data").toString());
        r2Config = Pgrelay.config(FEED_SLOT, "jdbc:postgresql://127.0.0.1:" + feedPort + "/" + stage.rootDb(),
                FEED_USER, FEED_PASSWORD, stage.down2(), d2, Pgrelay.freePort(), stage.options().pgrelayExtra());
        r2Config.setProperty("relay.name", "r2");
        r2Config.setProperty("data.dir", dir.resolve("r2-data").toString());
        createFeedSlot();
    }

    /**
     * The feed slot exists before the backlog, like the root's slots, so R2 gets everything R1
     * receives. A feed knows its position only once it has reached the root, so R1 runs briefly
     * (no backlog yet: it receives nothing) and the slot is created through its feed.
     */
    private void createFeedSlot() throws Exception {
        Path setup = dir.resolve("setup");
        Files.createDirectories(setup);
        Path file = RelayProcess.writeConfig(setup, "r1.properties", r1Config);
        RelayProcess relay = RelayProcess.start("r1", dir, r1Config);
        try {
            long deadline = System.nanoTime() + SETUP_WAIT.toNanos();
            RelayProcess.Result created;
            do {
                Pgrelay.requireAlive(relay);
                created = RelayProcess.runCommand(setup, SETUP_WAIT, Map.of(), "slot", "create", FEED_SLOT,
                        "--if-not-exists", "-c", file.toString());
                if (created.exitCode() != 0) {
                    Thread.sleep(200);
                }
            } while (created.exitCode() != 0 && System.nanoTime() < deadline);
            if (created.exitCode() != 0) {
                throw new IllegalStateException("pgrelay slot create " + FEED_SLOT + " failed: " + created);
            }
            Pgrelay.stop(relay);
        } finally {
            relay.close();
        }
    }

    @Override
    public void start() {
        r1 = RelayProcess.start("r1", dir, r1Config);
        r2 = RelayProcess.start("r2", dir, r2Config);
        sampler = new HeapSampler(Integer.parseInt(r1Config.getProperty("http.listen").split(":")[1]));
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
    public void requireHealthy() {
        Pgrelay.requireAlive(r1);
        Pgrelay.requireAlive(r2);
    }

    @Override
    public Outcome.Memory finishMemory() throws Exception {
        return sampler.finish(r1.pid(), stage.tools().jcmd(), stage.work());
    }

    @Override
    public void stop() throws Exception {
        Pgrelay.stop(r2);
        Pgrelay.stop(r1);
    }

    @Override
    public Outcome catchUp(Backlog backlog) throws Exception {
        return catchUp(stage, backlog);
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
                    if (r2 != null) {
                        r2.close();
                    }
                },
                () -> {
                    if (r1 != null) {
                        r1.close();
                    }
                },
                () -> {
                    if (!Boolean.getBoolean("bench.keep")) {
                        TreeDeletion.deleteIfExists(dir);
                    }
                },
                () -> stage.down2().execute("postgres", "DROP DATABASE IF EXISTS " + d2),
                () -> stage.down1().execute("postgres", "DROP DATABASE IF EXISTS " + d1),
                () -> Slots.drop(stage.root(), stage.rootDb(), rootSlot));
    }
}
