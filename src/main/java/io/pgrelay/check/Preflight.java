package io.pgrelay.check;

import io.pgrelay.config.RelayConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything {@code pgrelay check} verifies before a relay runs, upstream first (it says which
 * tables are published), then downstream. Every connection is bounded by timeouts, and a
 * problem is a row of the report, never an exception.
 */
public final class Preflight {

    private Preflight() {}

    /**
     * Runs every check against both ends of {@code config}.
     *
     * @param tablesWillBeCreated true when run creates missing downstream tables from the
     *                            upstream catalog: a missing table is then no FAIL, only the
     *                            right to create it is checked
     */
    public static CheckReport run(RelayConfig config, boolean tablesWillBeCreated) {
        UpstreamChecks.Result upstream = new UpstreamChecks(config).run();
        List<Check> checks = new ArrayList<>(upstream.checks());
        checks.addAll(new DownstreamChecks(config).run(upstream.tables(), tablesWillBeCreated));
        return new CheckReport(checks);
    }
}
