package io.pgrelay.cli;

import io.pgrelay.check.CheckReport;
import io.pgrelay.check.Preflight;
import io.pgrelay.config.ConfigException;
import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.RelayConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pgrelay check}: connects to both ends and prints one row per check (OK, WARN, FAIL,
 * SKIP) with the fix for each problem; exits 3 when anything fails.
 */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = "Check both ends before running: wal_level, slots, role, publications, replica identity, "
                + "downstream tables, columns and privileges. Exits 0 when nothing fails, 3 otherwise.")
final class CheckCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE",
            description = "The relay's properties file; every key can be overridden by a PGRELAY_* environment variable.")
    Path configFile;

    @Override
    public Integer call() {
        RelayConfig config;
        try {
            config = ConfigLoader.load(configFile, System.getenv());
        } catch (ConfigException e) {
            e.problems().forEach(problem -> spec.commandLine().getErr().println("pgrelay: config: " + problem));
            return ExitCode.USAGE;
        }
        CheckReport report = preflight(config);
        PrintWriter out = spec.commandLine().getOut();
        out.println("relay       " + config.relayName());
        out.println("upstream    " + config.upstream());
        out.println("downstream  " + config.downstream());
        out.println();
        out.print(report.render());
        out.flush();
        return report.passed() ? ExitCode.OK : ExitCode.CHECK_FAILED;
    }

    /**
     * The checks {@code check} prints and {@code run} performs before it starts. Missing
     * downstream tables fail them unless {@code schema.create} makes run create them.
     */
    static CheckReport preflight(RelayConfig config) {
        return Preflight.run(config, config.schema().create());
    }
}
