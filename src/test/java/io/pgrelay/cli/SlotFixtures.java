package io.pgrelay.cli;

import io.pgrelay.changelog.Changelog;
import io.pgrelay.changelog.ChangelogOptions;
import io.pgrelay.feed.FeedSlots;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * Data directories of a stopped relay and configuration files pointing at them, made without
 * PostgreSQL: the changelog gets complete (empty) transactions, the slots are written with
 * {@link FeedSlots} as the feed writes them. Shared by the unit tests and {@code SlotCliIT}.
 */
final class SlotFixtures {

    static final String FEED_USER = "child";
    static final String FEED_PASSWORD = "Feed-S3cret-slot";

    private SlotFixtures() {}

    /** Appends one complete transaction (Begin, Commit) ending at {@code endLsn} to the changelog in {@code dataDir}. */
    static void appendTransaction(Path dataDir, long commitLsn, long endLsn) throws IOException {
        try (Changelog changelog = Changelog.open(dataDir.resolve("changelog"), ChangelogOptions.defaults())) {
            changelog.append(commitLsn - 16, ByteBuffer.allocate(21).put((byte) 'B').putLong(commitLsn)
                    .putLong(700_000_000_000_000L).putInt((int) (commitLsn & 0xffff)).flip());
            changelog.append(commitLsn, ByteBuffer.allocate(26).put((byte) 'C').put((byte) 0).putLong(commitLsn)
                    .putLong(endLsn).putLong(700_000_000_000_000L).flip());
            changelog.sync();
        }
    }

    /** Creates durable slots confirmed at the given positions: name, lsn, name, lsn, ... */
    static void slots(Path dataDir, Object... nameAndLsn) throws IOException {
        FeedSlots slots = FeedSlots.open(dataDir);
        for (int i = 0; i < nameAndLsn.length; i += 2) {
            slots.create((String) nameAndLsn[i], (Long) nameAndLsn[i + 1], false);
        }
    }

    /** The smallest valid relay configuration with a feed on {@code feedListen} (empty: no feed). */
    static Properties config(Path dataDir, String feedListen) {
        Properties p = new Properties();
        p.setProperty("upstream.url", "jdbc:postgresql://127.0.0.1:9/app");
        p.setProperty("upstream.user", "repl");
        p.setProperty("upstream.slot", "relay_1");
        p.setProperty("upstream.publications", "pub_a");
        p.setProperty("downstream.url", "jdbc:postgresql://127.0.0.1:9/app");
        p.setProperty("downstream.user", "writer");
        p.setProperty("feed.listen", feedListen);
        p.setProperty("feed.user", FEED_USER);
        p.setProperty("feed.password", FEED_PASSWORD);
        p.setProperty("data.dir", dataDir.toString());
        return p;
    }

    static Path write(Path file, Properties config) {
        try (OutputStream out = Files.newOutputStream(file)) {
            config.store(out, "slot command test");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }
}
