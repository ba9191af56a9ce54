package io.pgrelay.cli;

import java.util.OptionalLong;

/** Where the {@code slot} command finds a relay's feed slots: its data.dir (stopped) or its feed (running). */
interface SlotStore extends AutoCloseable {

    SlotListing list() throws SlotFailure;

    /** Creates a durable slot at the changelog's end; its position, or empty when the name is taken. */
    OptionalLong create(String name) throws SlotFailure;

    /** Drops a slot; false when there is none of that name. Fails when a client streams it. */
    boolean drop(String name) throws SlotFailure;

    @Override
    void close();
}
