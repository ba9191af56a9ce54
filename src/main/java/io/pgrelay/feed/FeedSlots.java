package io.pgrelay.feed;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.postgresql.replication.LogSequenceNumber;

/**
 * The feed's slots, one small file each in {@code data.dir/slots}, written atomically (temp file,
 * fsync, rename, fsync of the directory) so a crash leaves either the old or the new position.
 * Temporary slots live in memory only and vanish with their session.
 *
 * <p>Thread-safe: sessions of different clients, the relay's retention, and the {@code slot}
 * CLI all go through the synchronized methods.
 */
public final class FeedSlots {

    private static final Pattern NAME = Pattern.compile("[a-z0-9_]{1,63}");
    private static final String SUFFIX = ".slot";

    private final Path dir;
    private final Map<String, FeedSlot> slots = new TreeMap<>();

    private FeedSlots(Path dir) {
        this.dir = dir;
    }

    public static FeedSlots open(Path dataDir) throws IOException {
        FeedSlots store = new FeedSlots(dataDir.resolve("slots"));
        Files.createDirectories(store.dir);
        try (DirectoryStream<Path> files = Files.newDirectoryStream(store.dir, "*" + SUFFIX)) {
            for (Path file : files) {
                FeedSlot slot = read(file);
                store.slots.put(slot.name(), slot);
            }
        }
        return store;
    }

    public static boolean isValidName(String name) {
        return NAME.matcher(name).matches();
    }

    public synchronized Optional<FeedSlot> get(String name) {
        return Optional.ofNullable(slots.get(name));
    }

    public synchronized List<FeedSlot> all() {
        return new ArrayList<>(slots.values());
    }

    /** Creates a slot confirmed at {@code position}; false if the name is taken. */
    public synchronized boolean create(String name, long position, boolean temporary) throws IOException {
        if (slots.containsKey(name)) {
            return false;
        }
        FeedSlot slot = new FeedSlot(name, position, temporary, false);
        if (!temporary) {
            write(slot);
        }
        slots.put(name, slot);
        return true;
    }

    public synchronized boolean drop(String name) throws IOException {
        FeedSlot slot = slots.remove(name);
        if (slot == null) {
            return false;
        }
        if (!slot.temporary()) {
            Files.deleteIfExists(file(name));
            syncDirectory();
        }
        return true;
    }

    /** Moves a slot's confirmed position forward (never back), durably. */
    public synchronized void confirm(String name, long lsn) throws IOException {
        FeedSlot slot = slots.get(name);
        if (slot == null || slot.lost() || Long.compareUnsigned(lsn, slot.confirmedLsn()) <= 0) {
            return;
        }
        FeedSlot advanced = slot.withConfirmed(lsn);
        if (!slot.temporary()) {
            write(advanced);
        }
        slots.put(name, advanced);
    }

    public synchronized void markLost(Collection<String> names) throws IOException {
        for (String name : names) {
            FeedSlot slot = slots.get(name);
            if (slot != null && !slot.lost()) {
                FeedSlot lost = slot.markLost();
                if (!slot.temporary()) {
                    write(lost);
                }
                slots.put(name, lost);
            }
        }
    }

    /** The lowest confirmed position of the slots that are not lost, if any. */
    public synchronized Optional<Long> lowestConfirmed() {
        return slots.values().stream().filter(slot -> !slot.lost())
                .map(FeedSlot::confirmedLsn).min(Long::compareUnsigned);
    }

    private Path file(String name) {
        return dir.resolve(name + SUFFIX);
    }

    private void write(FeedSlot slot) throws IOException {
        Properties properties = new Properties();
        properties.setProperty("name", slot.name());
        properties.setProperty("confirmed_lsn", LogSequenceNumber.valueOf(slot.confirmedLsn()).asString());
        properties.setProperty("lost", String.valueOf(slot.lost()));
        Path temp = dir.resolve(slot.name() + SUFFIX + ".tmp");
        try (Writer out = Files.newBufferedWriter(temp, StandardCharsets.UTF_8)) {
            properties.store(out, "pgrelay feed slot");
        }
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
            channel.force(true);
        }
        try {
            Files.move(temp, file(slot.name()), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, file(slot.name()), StandardCopyOption.REPLACE_EXISTING);
        }
        syncDirectory();
    }

    private static FeedSlot read(Path file) throws IOException {
        Properties properties = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            properties.load(in);
        }
        String name = properties.getProperty("name");
        String lsn = properties.getProperty("confirmed_lsn");
        if (name == null || lsn == null || !isValidName(name)) {
            throw new IOException("feed slot file " + file + " is damaged: remove it (the slot is lost) or restore it");
        }
        return new FeedSlot(name, LogSequenceNumber.valueOf(lsn).asLong(), false,
                Boolean.parseBoolean(properties.getProperty("lost", "false")));
    }

    private void syncDirectory() throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }
}
