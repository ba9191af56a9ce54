package io.pgrelay.relay;

import com.zaxxer.hikari.HikariDataSource;
import io.pgrelay.apply.ApplyListener;
import io.pgrelay.cli.ExitCode;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.feed.Feed;
import io.pgrelay.source.StreamPositions;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs sessions until told to stop: a failure that waiting can fix is retried with capped
 * exponential backoff, one log line per attempt; a failure that needs an operator stops the
 * relay with a message saying what to fix. Either way the relay stops at its last checkpoint.
 *
 * <p>{@link #requestStop()} and {@link #awaitStopped} may be called from any thread (signal
 * handlers); {@link #run()} runs on one thread.
 */
public final class Relay {

    private static final Logger log = LoggerFactory.getLogger(Relay.class);
    /** A session that streamed this long counts as healthy: the next failure starts the backoff over. */
    private static final Duration HEALTHY_SESSION = Duration.ofSeconds(30);

    private final RelayConfig config;
    private final ApplyListener listener;
    private final RelayListener events;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final Object sleeper = new Object();
    private volatile boolean stopRequested;
    private volatile RelaySession current;
    private volatile String failure;
    private volatile Feed feed;

    public Relay(RelayConfig config, ApplyListener listener) {
        this.config = config;
        this.listener = listener;
        this.events = listener instanceof RelayListener relayListener ? relayListener : new RelayListener() {};
    }

    /** Runs until stopped; returns the process exit code. */
    public int run() {
        Feed feed;
        try {
            feed = config.feed() != null && config.feed().enabled() ? Feed.start(config) : null;
        } catch (IOException e) {
            log.error("feed cannot start, stopping: {}", e.getMessage());
            failure = "feed cannot start: " + e.getMessage();
            stopped.countDown();
            return ExitCode.FAILURE;
        }
        this.feed = feed;
        try (HikariDataSource downstream = DownstreamPool.create(config, events)) {
            return runSessions(downstream, feed);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return ExitCode.OK;
        } finally {
            closeFeed(feed);
            stopped.countDown();
        }
    }

    private static void closeFeed(Feed feed) {
        if (feed != null) {
            try {
                feed.close();
            } catch (IOException e) {
                log.warn("closing the feed failed: {}", e.getMessage());
            }
        }
    }

    /** The feed, while the relay runs with one; null otherwise. */
    public Feed feed() {
        return feed;
    }

    private int runSessions(HikariDataSource downstream, Feed feed) throws InterruptedException {
        Backoff backoff = new Backoff(config.retryInitialBackoff(), config.retryMaxBackoff());
        while (!stopRequested) {
            long started = System.nanoTime();
            RelaySession session = new RelaySession(config, downstream, feed, () -> stopRequested, listener);
            current = session;
            try {
                session.run();
                log.info("stopped cleanly at the last checkpoint");
                return ExitCode.OK;
            } catch (SessionFailure failure) {
                boolean permanent = FailureClassifier.isPermanent(failure.getCause());
                String state = FailureClassifier.sqlState(failure.getCause());
                events.sessionFailed(failure.side().toString(), state == null ? "none" : state.substring(0, 2), permanent);
                if (permanent) {
                    this.failure = logPermanent(failure);
                    return ExitCode.FAILURE;
                }
                if (System.nanoTime() - started >= HEALTHY_SESSION.toNanos()) {
                    backoff.reset();
                }
                Duration delay = backoff.next();
                log.warn("{} failed{}: {}; reconnecting in {} ms (attempt {})", failure.side(),
                        stateOf(failure), FailureClassifier.describe(failure.getCause()), delay.toMillis(),
                        backoff.attempts());
                sleepUnlessStopped(delay);
                events.reconnecting(backoff.attempts());
            } finally {
                current = null;
            }
        }
        log.info("stopped cleanly at the last checkpoint");
        return ExitCode.OK;
    }

    /** Logs the one line an operator needs, and returns it. */
    private static String logPermanent(SessionFailure failure) {
        Throwable cause = failure.getCause();
        String advice = FailureClassifier.advice(failure.side(), cause);
        String line = failure.side() + " failure" + stateOf(failure) + ", stopping at the last checkpoint: "
                + FailureClassifier.describe(cause) + (advice == null ? "" : "; " + advice);
        log.error(line);
        log.debug("failure detail", cause);
        return line;
    }

    /** The message of the permanent failure that stopped the relay, or null. */
    public String failure() {
        return failure;
    }

    private static String stateOf(SessionFailure failure) {
        String state = FailureClassifier.sqlState(failure.getCause());
        return state == null ? "" : " (SQLSTATE " + state + ")";
    }

    /** The relay's name and configuration, for reports. */
    public RelayConfig config() {
        return config;
    }

    /** The positions of the session that runs now, or null between sessions. */
    public StreamPositions positions() {
        RelaySession session = current;
        return session == null ? null : session.positions();
    }

    /** True once the relay stopped on a failure that needs an operator. */
    public boolean hasFailed() {
        return failure != null;
    }

    /** True while a session streams from the upstream (for readiness). */
    public boolean isStreaming() {
        RelaySession session = current;
        return session != null && session.isStreaming();
    }

    /** Asks the relay to finish the current transaction, commit, send final feedback and return. */
    public void requestStop() {
        stopRequested = true;
        synchronized (sleeper) {
            sleeper.notifyAll();
        }
    }

    public boolean awaitStopped(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void sleepUnlessStopped(Duration delay) throws InterruptedException {
        long deadline = System.nanoTime() + delay.toNanos();
        synchronized (sleeper) {
            while (!stopRequested) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                TimeUnit.NANOSECONDS.timedWait(sleeper, left);
            }
        }
    }
}
