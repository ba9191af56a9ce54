package io.pgrelay.relay;

/** Which end of the relay a failure came from, so messages can say where to look. */
enum Side {
    UPSTREAM("upstream"), DOWNSTREAM("downstream"), RELAY("relay");

    private final String label;

    Side(String label) {
        this.label = label;
    }

    @Override
    public String toString() {
        return label;
    }
}
