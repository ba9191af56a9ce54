package io.pgrelay.cli;

import io.pgrelay.feed.FeedSlot;
import io.pgrelay.feed.SlotListQuery;
import io.pgrelay.feed.StoppedRelaySlots;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/** The slots of a stopped relay, changed in its data.dir under the data directory's lock. */
final class LocalSlotStore implements SlotStore {

    private final Path dataDir;
    private final StoppedRelaySlots slots;

    LocalSlotStore(Path dataDir, StoppedRelaySlots slots) {
        this.dataDir = dataDir;
        this.slots = slots;
    }

    @Override
    public SlotListing list() throws SlotFailure {
        try {
            long end = slots.changelogEnd();
            List<SlotRow> rows = new ArrayList<>();
            for (FeedSlot slot : slots.all()) {
                rows.add(new SlotRow(slot.name(), slot.confirmedLsn(), slot.lost(), null, slot.temporary(),
                        SlotListQuery.lagBytes(slot.confirmedLsn(), end)));
            }
            return new SlotListing(false, dataDir.toAbsolutePath().toString(), null, end, rows);
        } catch (IOException e) {
            throw failed(e);
        }
    }

    /**
     * Creates the slot at the changelog's end, which is where a running feed would start it too
     * (or, after an idle upstream, just before a position nothing committed in). An empty
     * changelog has no such position: 0/0 would count the whole changelog as the slot's lag, so
     * the slot is then left to the running relay's feed, which knows its current position.
     */
    @Override
    public OptionalLong create(String name) throws SlotFailure {
        try {
            if (slots.get(name).isPresent()) {
                return OptionalLong.empty();
            }
            if (slots.changelogEnd() == 0) {
                throw SlotFailure.failure("the relay has not recorded any transaction in data.dir "
                        + dataDir.toAbsolutePath() + " yet, so there is no position to start feed slot \"" + name
                        + "\" at: start the relay and run this command again, it then creates the slot through the"
                        + " relay's feed at its current position");
            }
            return slots.create(name);
        } catch (IOException e) {
            throw failed(e);
        }
    }

    @Override
    public boolean drop(String name) throws SlotFailure {
        try {
            return slots.drop(name);
        } catch (IOException e) {
            throw failed(e);
        }
    }

    private SlotFailure failed(IOException e) {
        return SlotFailure.failure("data.dir " + dataDir.toAbsolutePath() + ": " + SlotStores.describe(e));
    }

    @Override
    public void close() {
        try {
            slots.close();
        } catch (IOException e) {
            // The lock goes with the process at the latest; nothing the operator must do.
        }
    }
}
