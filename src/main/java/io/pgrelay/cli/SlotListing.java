package io.pgrelay.cli;

import java.util.List;

/**
 * What {@code pgrelay slot list} found.
 *
 * @param running      true when read from a running relay's feed, false when read from a stopped relay's data.dir
 * @param dataDir      the relay's data directory, absolute
 * @param feed         the feed's address when read from it; null when the relay is stopped
 * @param changelogEnd the changelog's end when read from data.dir; null when read from a feed
 */
record SlotListing(boolean running, String dataDir, String feed, Long changelogEnd, List<SlotRow> slots) {
    SlotListing {
        slots = List.copyOf(slots);
    }
}
