package io.pgrelay.feed;

import io.pgrelay.changelog.Changelog;
import io.pgrelay.changelog.ChangelogOptions;
import java.io.IOException;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The feed slots of a relay that is not running, read and changed directly in
 * {@code data.dir/slots} while holding the data directory's lock, so the relay cannot start (it
 * would fail with "data.dir is in use") until {@link #close()}. For the {@code slot} command.
 *
 * <p>The changelog is opened only when its end is asked for, and not created when missing (a
 * relay that never received anything has an end of 0). Opening it runs the same recovery the
 * relay runs at start, which is safe because the lock is held.
 */
public final class StoppedRelaySlots implements AutoCloseable {

    private final Path dataDir;
    private final DataDirLock lock;
    private final FeedSlots slots;
    private OptionalLong changelogEnd = OptionalLong.empty();

    private StoppedRelaySlots(Path dataDir, DataDirLock lock, FeedSlots slots) {
        this.dataDir = dataDir;
        this.lock = lock;
        this.slots = slots;
    }

    /**
     * Locks {@code dataDir} and opens its slots; empty when another process (a running relay)
     * holds the lock.
     *
     * @throws NoSuchFileException when {@code dataDir} does not exist: nothing is created
     */
    public static Optional<StoppedRelaySlots> open(Path dataDir) throws IOException {
        if (!Files.isDirectory(dataDir)) {
            throw new NoSuchFileException(dataDir.toAbsolutePath().toString(), null, "data.dir does not exist");
        }
        DataDirLock lock;
        try {
            lock = DataDirLock.tryAcquire(dataDir);
        } catch (OverlappingFileLockException e) {
            return Optional.empty(); // held by this very JVM: a relay runs here
        }
        if (lock == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(new StoppedRelaySlots(dataDir, lock, FeedSlots.open(dataDir)));
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    public List<FeedSlot> all() {
        return slots.all();
    }

    public Optional<FeedSlot> get(String name) {
        return slots.get(name);
    }

    /** End of the last complete transaction in the changelog; 0 when there is no changelog yet. */
    public long changelogEnd() throws IOException {
        if (changelogEnd.isEmpty()) {
            Path dir = dataDir.resolve("changelog");
            if (!Files.isDirectory(dir)) {
                changelogEnd = OptionalLong.of(0);
            } else {
                try (Changelog changelog = Changelog.open(dir, ChangelogOptions.defaults())) {
                    changelogEnd = OptionalLong.of(changelog.endLsn());
                }
            }
        }
        return changelogEnd.getAsLong();
    }

    /**
     * Creates a durable slot at the changelog's end. (A running feed starts a slot at the relay's
     * current position, which may lie past the end after an idle upstream; nothing commits in
     * between, so the slot receives the same transactions.) Callers should not create slots on an
     * empty changelog (end 0): see {@link #changelogEnd()}.
     *
     * @return the slot's confirmed position; empty when the name is taken
     * @throws IllegalArgumentException for an invalid name
     */
    public OptionalLong create(String name) throws IOException {
        if (!FeedSlots.isValidName(name)) {
            throw new IllegalArgumentException("invalid slot name: " + name);
        }
        long position = changelogEnd();
        return slots.create(name, position, false) ? OptionalLong.of(position) : OptionalLong.empty();
    }

    /** Deletes a slot; false when there is none of that name. */
    public boolean drop(String name) throws IOException {
        return slots.drop(name);
    }

    /** Releases the data directory: the relay can start again. */
    @Override
    public void close() throws IOException {
        lock.close();
    }
}
