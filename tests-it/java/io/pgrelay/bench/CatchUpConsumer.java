package io.pgrelay.bench;

/**
 * One way of reading a backlog. The run calls {@link #prepare()} before the backlog is written
 * (every consumer's slot starts at the same LSN), then, one consumer at a time,
 * {@link #catchUp} and {@link #cleanup()}.
 */
interface CatchUpConsumer {

    /** Name in the table. */
    String label();

    /** Creates slots and downstream databases; nothing reads yet. */
    void prepare() throws Exception;

    /** Starts reading and returns once the backlog is fully consumed and checked; throws when not. */
    Outcome catchUp(Backlog backlog) throws Exception;

    /** Stops what still runs and drops slots and databases, so no WAL stays retained. Never throws. */
    void cleanup();

    /** Runs each step, reporting (not throwing) failures: cleanup must get as far as it can. */
    static void quietly(String what, Step... steps) {
        for (Step step : steps) {
            try {
                step.run();
            } catch (Exception | AssertionError e) {
                System.err.println("warning: cleanup of " + what + ": " + e.getMessage());
            }
        }
    }

    @FunctionalInterface
    interface Step {
        void run() throws Exception;
    }
}
