package io.pgrelay.demo;

import io.pgrelay.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * Compares every table of the demo at the root and at every tier by content: the row count and
 * the md5 of all rows in primary-key order, each row in PostgreSQL's text form.
 */
final class Verification {

    private static final Duration POLL = Duration.ofMillis(200);

    /** One table's content at one server. */
    record Digest(long rows, String md5) {
    }

    /** The first table that differs, where, and how; null fields when all are equal. */
    record Outcome(Map<String, Digest> root, String table, int tier, Digest tierDigest) {
        boolean equal() {
            return table == null;
        }
    }

    private Verification() {
    }

    /**
     * Compares until every tier equals the root (tiers still applying catch up meanwhile), the
     * timeout passes or {@code stopRequested}; returns the last comparison.
     */
    static Outcome awaitEqual(DemoClusters clusters, Duration timeout, BooleanSupplier stopRequested)
            throws SQLException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Outcome outcome = compare(clusters);
            if (outcome.equal() || stopRequested.getAsBoolean() || System.nanoTime() > deadline) {
                return outcome;
            }
            Thread.sleep(POLL.toMillis());
        }
    }

    static Outcome compare(DemoClusters clusters) throws SQLException {
        Map<String, Digest> root = digests(clusters.root());
        for (int tier = 1; tier <= clusters.tiers(); tier++) {
            Map<String, Digest> other = digests(clusters.tier(tier));
            for (String table : DemoSchema.TABLES) {
                if (!root.get(table).equals(other.get(table))) {
                    return new Outcome(root, table, tier, other.get(table));
                }
            }
        }
        return new Outcome(root, null, 0, null);
    }

    static Map<String, Digest> digests(EmbeddedPostgres server) throws SQLException {
        Map<String, Digest> digests = new LinkedHashMap<>();
        try (Connection connection = server.connect(DemoSchema.DATABASE);
             Statement statement = connection.createStatement()) {
            for (String table : DemoSchema.TABLES) {
                try (ResultSet rs = statement.executeQuery("SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t.id), ''))"
                        + " FROM public." + table + " t")) {
                    rs.next();
                    digests.put(table, new Digest(rs.getLong(1), rs.getString(2)));
                }
            }
        }
        return digests;
    }

    /** The report: the verdict line first, then one line per table. */
    static List<String> report(Outcome outcome, int tiers) {
        List<String> lines = new ArrayList<>();
        if (outcome.equal()) {
            lines.add("verified: " + DemoSchema.TABLES.size() + " tables equal at " + tiers + (tiers == 1 ? " tier" : " tiers"));
            StringBuilder chain = new StringBuilder("root");
            for (int tier = 1; tier <= tiers; tier++) {
                chain.append(" = ").append(Tiers.label(tier));
            }
            outcome.root().forEach((table, digest) -> lines.add(String.format("  %-10s %8d rows  md5 %s  %s",
                    table, digest.rows(), digest.md5().substring(0, 12), chain)));
        } else {
            Digest root = outcome.root().get(outcome.table());
            lines.add("verification FAILED: table " + outcome.table() + " differs at tier " + Tiers.label(outcome.tier())
                    + ": root has " + root.rows() + " rows (md5 " + root.md5() + "), " + Tiers.label(outcome.tier())
                    + " has " + outcome.tierDigest().rows() + " rows (md5 " + outcome.tierDigest().md5() + ")");
        }
        return lines;
    }
}
