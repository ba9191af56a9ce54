package io.pgrelay.feed;

import io.pgrelay.changelog.Changelog;
import io.pgrelay.feed.wire.ScramServer;
import java.time.Duration;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;

/**
 * What every feed session needs from the relay. Immutable; the parts that change while the
 * relay runs (identity, positions, slots) are thread-safe objects.
 *
 * @param user          the login clients use ({@code feed.user})
 * @param credentials   SCRAM verifier derived from {@code feed.password}
 * @param trustLoopback accept loopback clients without a password ({@code feed.auth=trust})
 * @param tls           null when TLS is not configured: SSLRequest is answered 'N'
 * @param database      the database name clients connect to: the relay's upstream database
 * @param publications  the publication names the relay reads; clients must ask for these
 * @param identity      the root's system identifier and timeline, once learned from upstream
 * @param position      the relay's current durable position: where a new slot starts
 * @param snapshots     exports snapshots of the relay's downstream for children's initial copies; null = none
 */
public record FeedContext(
        String user,
        ScramServer.Credentials credentials,
        boolean trustLoopback,
        SSLContext tls,
        String database,
        Set<String> publications,
        Supplier<SystemIdentity> identity,
        FeedSlots slots,
        Changelog changelog,
        LongSupplier position,
        Duration timeout,
        int maxMessageBytes,
        DownstreamSnapshot.Exporter snapshots) {

    public FeedContext {
        publications = Set.copyOf(publications);
    }

    /** The version the feed reports: clients choose command syntax by it (15 = new syntax). */
    static final String SERVER_VERSION = "15.0 (pgrelay feed)";
}
