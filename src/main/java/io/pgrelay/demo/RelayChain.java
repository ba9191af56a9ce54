package io.pgrelay.demo;

import io.pgrelay.apply.ApplyListener;
import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.embedded.EmbeddedPostgres;
import io.pgrelay.embedded.FreePorts;
import io.pgrelay.relay.Relay;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/**
 * The relays of the chain, each on its own thread in this JVM: tier 1 reads the root's slot,
 * tier {@code n} reads a feed slot on tier {@code n-1}'s feed; every tier but the last serves a
 * feed on a free loopback port.
 */
final class RelayChain implements AutoCloseable {

    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(15);
    private static final String FEED_USER = "demo_feed";

    /** One running relay. */
    static final class Tier {
        final int number;
        final Relay relay;
        final int feedPort;
        final CompletableFuture<Integer> exit = new CompletableFuture<>();

        Tier(int number, Relay relay, int feedPort) {
            this.number = number;
            this.relay = relay;
            this.feedPort = feedPort;
        }

        String label() {
            return Tiers.label(number);
        }

        /** Why this relay stopped by itself, or null while it runs. */
        String failure() {
            if (!exit.isDone()) {
                return null;
            }
            String failure = relay.failure();
            Integer code = exit.getNow(null);
            return failure != null ? failure : "relay " + label() + " stopped unexpectedly" + (code == null ? "" : " (exit " + code + ")");
        }
    }

    private final List<Tier> tiers = new ArrayList<>();
    private final String feedPassword = randomPassword();

    /**
     * Starts the relays one by one, each once its upstream streams, so that a child's feed
     * slot exists before the first change flows. Returns early (with fewer relays) when
     * {@code stopRequested}; throws when a relay fails to stream.
     */
    void start(DemoClusters clusters, Path dataDir, Duration streamingTimeout, BooleanSupplier stopRequested,
               java.util.function.Consumer<String> report) throws InterruptedException {
        for (int number = 1; number <= clusters.tiers() && !stopRequested.getAsBoolean(); number++) {
            boolean last = number == clusters.tiers();
            int feedPort = last ? 0 : FreePorts.next();
            RelayConfig config = config(number, clusters, dataDir, feedPort);
            Tier tier = new Tier(number, new Relay(config, ApplyListener.NONE), feedPort);
            tiers.add(tier);
            Thread thread = new Thread(() -> run(tier), "pgrelay-demo-relay-" + tier.label());
            thread.setDaemon(true);
            thread.start();
            awaitStreaming(tier, streamingTimeout, stopRequested);
            String from = number == 1 ? "root" : Tiers.label(number - 1) + "'s feed";
            report.accept("relay " + tier.label() + ": " + from + " → " + tier.label() + ", streaming"
                    + (last ? "" : "; its feed listens on 127.0.0.1:" + feedPort));
        }
    }

    private static void run(Tier tier) {
        try {
            tier.exit.complete(tier.relay.run());
        } catch (Throwable t) {
            tier.exit.completeExceptionally(t);
        }
    }

    private static void awaitStreaming(Tier tier, Duration timeout, BooleanSupplier stopRequested)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!tier.relay.isStreaming()) {
            if (tier.failure() != null) {
                throw new DemoFailure("relay " + tier.label() + " did not start: " + tier.failure());
            }
            if (stopRequested.getAsBoolean()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new DemoFailure("relay " + tier.label() + " did not start streaming within "
                        + timeout.toSeconds() + " s");
            }
            Thread.sleep(20);
        }
    }

    private RelayConfig config(int number, DemoClusters clusters, Path dataDir, int feedPort) {
        Properties p = new Properties();
        p.setProperty("relay.name", Tiers.relayName(number));
        if (number == 1) {
            EmbeddedPostgres root = clusters.root();
            p.setProperty("upstream.url", root.jdbcUrl(DemoSchema.DATABASE));
            p.setProperty("upstream.user", root.user());
            p.setProperty("upstream.password", root.password());
        } else {
            Tier parent = tiers.get(number - 2);
            p.setProperty("upstream.url", "jdbc:postgresql://127.0.0.1:" + parent.feedPort + "/" + DemoSchema.DATABASE);
            p.setProperty("upstream.user", FEED_USER);
            p.setProperty("upstream.password", feedPassword);
        }
        p.setProperty("upstream.slot", Tiers.relayName(number));
        p.setProperty("upstream.publications", DemoSchema.PUBLICATION);
        p.setProperty("upstream.status-interval", "1s");
        EmbeddedPostgres downstream = clusters.tier(number);
        p.setProperty("downstream.url", downstream.jdbcUrl(DemoSchema.DATABASE));
        p.setProperty("downstream.user", downstream.user());
        p.setProperty("downstream.password", downstream.password());
        p.setProperty("downstream.pool-size", "2");
        if (feedPort != 0) {
            p.setProperty("feed.listen", "127.0.0.1:" + feedPort);
            p.setProperty("feed.user", FEED_USER);
            p.setProperty("feed.password", feedPassword);
        }
        p.setProperty("data.dir", dataDir.resolve("relay-" + Tiers.label(number).toLowerCase(java.util.Locale.ROOT)).toString());
        p.setProperty("retry.initial-backoff", "200ms");
        p.setProperty("retry.max-backoff", "2s");
        p.setProperty("shutdown.timeout", "10s");
        return ConfigLoader.fromProperties(p, Map.of());
    }

    List<Tier> tiers() {
        return tiers;
    }

    /** The first failure of any relay, or null while all run. */
    String failure() {
        return tiers.stream().map(Tier::failure).filter(f -> f != null).findFirst().orElse(null);
    }

    /**
     * Stops the relays, the last tier first, so no child ever sees its parent's feed go away;
     * each finishes its transaction in flight and commits its checkpoint.
     *
     * @throws DemoFailure naming a relay that did not stop in time
     */
    @Override
    public void close() throws InterruptedException {
        for (int i = tiers.size() - 1; i >= 0; i--) {
            Tier tier = tiers.get(i);
            tier.relay.requestStop();
            if (!tier.relay.awaitStopped(STOP_TIMEOUT)) {
                throw new DemoFailure("relay " + tier.label() + " did not stop within " + STOP_TIMEOUT.toSeconds() + " s");
            }
        }
    }

    private static String randomPassword() {
        byte[] bytes = new byte[12];
        new SecureRandom().nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }
}
