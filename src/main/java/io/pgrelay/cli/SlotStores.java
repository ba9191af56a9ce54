package io.pgrelay.cli;

import io.pgrelay.config.RelayConfig;
import io.pgrelay.feed.StoppedRelaySlots;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/** Chooses where the slots of the relay configured in a file are: its data.dir, or its running feed. */
final class SlotStores {

    private SlotStores() {}

    /**
     * The relay's slots: in data.dir when its lock can be taken (the relay is stopped; the lock is
     * then held until {@link SlotStore#close()}), else through the running relay's feed.
     *
     * @param configSource names the configuration in messages (the file given with -c)
     */
    static SlotStore open(RelayConfig config, String configSource) throws SlotFailure {
        if (config.feed() == null || !config.feed().enabled()) {
            throw SlotFailure.usage("feed.listen is empty in " + configSource + ": this relay runs without a feed, so it"
                    + " has no feed slots; set feed.listen (with feed.user and feed.password) to give it one");
        }
        Path dataDir = config.dataDir();
        Optional<StoppedRelaySlots> stopped;
        try {
            stopped = StoppedRelaySlots.open(dataDir);
        } catch (NoSuchFileException e) {
            throw SlotFailure.usage(missingDataDir(dataDir));
        } catch (IOException e) {
            throw SlotFailure.failure("cannot open data.dir " + dataDir.toAbsolutePath() + ": " + describe(e));
        }
        if (stopped.isPresent()) {
            return new LocalSlotStore(dataDir, stopped.get());
        }
        return FeedSlotClient.connect(config, dataDir.toAbsolutePath().toString());
    }

    static String missingDataDir(Path dataDir) {
        String message = "data.dir " + dataDir.toAbsolutePath() + " does not exist";
        if (!dataDir.isAbsolute()) {
            return message + ": data.dir=" + dataDir + " is relative to the current directory; run this command in the"
                    + " relay's working directory, or set data.dir to an absolute path";
        }
        return message + ": a relay that never ran with this feed has no slots yet; check data.dir, or start the relay once";
    }

    static SlotFailure active(String name) {
        return SlotFailure.failure("feed slot \"" + name + "\" is active: a client is streaming from it; stop that"
                + " client, then drop the slot");
    }

    /** An I/O error in words: the JDK's messages for these are a bare path. */
    static String describe(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file: " + e.getMessage();
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied: " + e.getMessage();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
