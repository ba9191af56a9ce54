package io.pgrelay.fault;

/**
 * The faults a run injects. Network faults act on a {@link io.pgrelay.it.fault.FaultProxy}
 * between a relay and one of its peers; process faults act on relay processes and servers.
 */
enum Fault {
    UPSTREAM_DROP, UPSTREAM_RESET, UPSTREAM_DELAY, UPSTREAM_BLACK_HOLE,
    DOWNSTREAM_DROP, DOWNSTREAM_RESET, DOWNSTREAM_DELAY, DOWNSTREAM_BLACK_HOLE,
    FEED_DROP, FEED_RESET, FEED_DELAY, FEED_BLACK_HOLE,
    KILL9, KILL9_AIMED,
    UPSTREAM_RESTART, DOWNSTREAM_RESTART, DOWNSTREAM_CRASH,
    LOCK_WAIT, STATEMENT_TIMEOUT,
    DISK_FULL;

    /**
     * The short run (part of {@code mvn verify}): every kind of fault once where it matters most,
     * in an order that alternates sides so each recovery starts from a healthy relay.
     */
    static final Fault[] SHORT = {
        UPSTREAM_BLACK_HOLE, DOWNSTREAM_RESET, FEED_BLACK_HOLE, KILL9_AIMED, UPSTREAM_RESTART,
        DOWNSTREAM_BLACK_HOLE, LOCK_WAIT, DOWNSTREAM_CRASH, FEED_RESET, STATEMENT_TIMEOUT,
        DISK_FULL, UPSTREAM_DROP};
}
