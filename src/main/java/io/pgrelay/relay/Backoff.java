package io.pgrelay.relay;

import java.time.Duration;

/**
 * Capped exponential backoff between reconnect attempts. Time is a parameter, so the schedule
 * is testable without sleeping.
 */
final class Backoff {

    private final Duration initial;
    private final Duration max;
    private int attempt;

    Backoff(Duration initial, Duration max) {
        this.initial = initial;
        this.max = max;
    }

    /** The delay before the next attempt, and counts it. */
    Duration next() {
        long shifted = initial.toMillis() << Math.min(attempt, 30);
        attempt++;
        return Duration.ofMillis(Math.min(shifted < 0 ? Long.MAX_VALUE : shifted, max.toMillis()));
    }

    int attempts() {
        return attempt;
    }

    /** After a session that worked for a while, start again from the initial delay. */
    void reset() {
        attempt = 0;
    }
}
