package io.pgrelay.cli;

import ch.qos.logback.classic.Level;
import io.pgrelay.demo.Demo;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
                "Runs pgrelay end to end on this machine, nothing to install: starts embedded PostgreSQL "
                        + "clusters (binaries shipped in the jar), a root with a publication and a small schema, "
                        + "and a chain of relays root → A → B… in this process, each relay serving a feed that "
                        + "the next one reads. Writes to the root for a while, printing a line per second "
                        + "(rows/s, lag per tier), then verifies every table equal at every tier and stops "
                        + "everything. Ctrl-C stops early, cleanly.",
                "As root, the PostgreSQL servers run as the user 'postgres' (or 'nobody') through runuser."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
                "0:every table equal at every tier (or stopped with Ctrl-C)",
                "1:a table differs, a relay failed, or PostgreSQL could not be started (the message says which)",
                "2:usage error"})
final class DemoCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--tiers", paramLabel = "N", defaultValue = "2",
            description = "Relays in the chain after the root, 1..8 (default: ${DEFAULT-VALUE}: root → A → B).")
    int tiers;

    @Option(names = "--seconds", paramLabel = "N", defaultValue = "20",
            description = "How long the workload runs, 1..86400 (default: ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = "--keep",
            description = "Leave the clusters running at the end and print how to connect to each with psql, "
                    + "and how to stop them.")
    boolean keep;

    @Override
    public Integer call() {
        if (tiers < 1 || tiers > 8) {
            throw new ParameterException(spec.commandLine(), "--tiers must be 1..8, not " + tiers);
        }
        if (seconds < 1 || seconds > 86_400) {
            throw new ParameterException(spec.commandLine(), "--seconds must be 1..86400, not " + seconds);
        }
        quietRelayLogs();
        Demo demo = new Demo(tiers, seconds, keep, spec.commandLine().getOut());
        StopSignals.install(demo::requestStop);
        return demo.run();
    }

    /** The live lines are the demo's output; the relays' INFO lines would bury them. Warnings still show. */
    private static void quietRelayLogs() {
        if (System.getenv("PGRELAY_LOG_LEVEL") == null
                && LoggerFactory.getLogger("io.pgrelay") instanceof ch.qos.logback.classic.Logger logger) {
            logger.setLevel(Level.WARN);
        }
    }
}
