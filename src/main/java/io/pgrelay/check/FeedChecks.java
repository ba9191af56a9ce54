package io.pgrelay.check;

import io.pgrelay.config.RelayConfig;
import io.pgrelay.feed.SlotListQuery;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Checks an upstream that is a parent relay's feed. A feed answers replication commands and a
 * few fixed queries only, so what can be checked is: the login, that the parent has reached its
 * own upstream, that {@code upstream.publications} equals what the parent reads (the feed serves
 * exactly those), and the feed slot's state. Server settings and tables are the root relay's to
 * check.
 */
final class FeedChecks {

    /** The feed's {@code server_version} ParameterStatus ends like this. */
    private static final String FEED_MARK = "(pgrelay feed)";

    private final RelayConfig config;
    private final List<Check> checks = new ArrayList<>();

    FeedChecks(RelayConfig config) {
        this.config = config;
    }

    static boolean isFeed(String serverVersion) {
        return serverVersion != null && serverVersion.contains(FEED_MARK);
    }

    UpstreamChecks.Result run(Connection feed, String version) {
        checks.add(Check.ok(UpstreamChecks.CONNECTION, "a pgrelay feed (server_version " + version + ") as "
                + config.upstream().user() + ", replication connection accepted"));
        try {
            identifySystem(feed);
            publications(feed);
            slot(feed);
        } catch (SQLException e) {
            checks.add(CheckConnections.queryFailed("upstream feed", "upstream", e,
                    "check that the parent relay runs the same pgrelay version"));
        }
        checks.add(Check.skip("upstream server", "the upstream is a pgrelay feed: wal_level, slots, roles and replica "
                + "identity are checked against the root (pgrelay check with the root relay's configuration)"));
        return new UpstreamChecks.Result(checks, null);
    }

    private void identifySystem(Connection feed) throws SQLException {
        try (Statement statement = feed.createStatement(); ResultSet rs = statement.executeQuery("IDENTIFY_SYSTEM")) {
            rs.next();
            checks.add(Check.ok("upstream system", "root system identifier " + rs.getString(1) + ", timeline " + rs.getString(2)));
        } catch (SQLException e) {
            if (!"57P03".equals(e.getSQLState())) {
                throw e;
            }
            checks.add(Check.warn("upstream system", "the parent relay has not reached its own upstream yet",
                    "start or fix the parent relay (pgrelay check with its configuration); this relay waits for it"));
        }
    }

    private void publications(Connection feed) throws SQLException {
        Set<String> served = new LinkedHashSet<>();
        try (Statement statement = feed.createStatement();
             ResultSet rs = statement.executeQuery("SELECT pubname FROM pg_catalog.pg_publication")) {
            while (rs.next()) {
                served.add(rs.getString(1));
            }
        }
        Set<String> wanted = new LinkedHashSet<>(config.publications());
        if (served.equals(wanted)) {
            checks.add(Check.ok("publications", String.join(", ", served) + " (what the parent relay reads)"));
        } else {
            checks.add(Check.fail("publications", "upstream.publications is " + String.join(", ", wanted)
                    + " but the parent relay's feed serves exactly " + String.join(", ", served),
                    "set upstream.publications = " + String.join(",", served)));
        }
    }

    private void slot(Connection feed) throws SQLException {
        String name = "upstream slot " + config.upstreamSlot();
        try (Statement statement = feed.createStatement(); ResultSet rs = statement.executeQuery(SlotListQuery.SQL)) {
            slotRow(name, rs);
        } catch (SQLException e) {
            if (!"0A000".equals(e.getSQLState())) {
                throw e;
            }
            // An older parent that does not list its slots: run still creates or resumes the slot.
            checks.add(Check.skip(name, "the parent relay's feed does not list its slots (an older pgrelay)"));
        }
    }

    private void slotRow(String name, ResultSet rs) throws SQLException {
        while (rs.next()) {
            if (!rs.getString(1).equals(config.upstreamSlot())) {
                continue;
            }
            if ("lost".equals(rs.getString(4))) {
                checks.add(Check.fail(name, "lost: it fell behind the parent's feed.max-retained-bytes",
                        "drop it (pgrelay slot drop " + config.upstreamSlot() + " -c PARENT_CONFIG) and re-sync this relay's downstream"));
            } else if (rs.getBoolean(3)) {
                checks.add(Check.warn(name, "feed slot active for another client",
                        "stop the other consumer, or give this relay its own upstream.slot; run waits and retries"));
            } else {
                checks.add(Check.ok(name, "feed slot exists, confirmed " + rs.getString(2) + ", "
                        + String.format("%,d", rs.getLong(6)) + " bytes behind"));
            }
            return;
        }
        checks.add(Check.ok(name, "does not exist yet: run creates it on the parent's feed"));
    }
}
