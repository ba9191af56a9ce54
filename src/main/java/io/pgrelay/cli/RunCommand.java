package io.pgrelay.cli;

import io.pgrelay.check.Check;
import io.pgrelay.check.CheckReport;
import io.pgrelay.config.ConfigException;
import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.metrics.Observability;
import io.pgrelay.relay.Relay;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Stream from the upstream slot and apply to the downstream until stopped (SIGTERM/SIGINT).")
final class RunCommand implements Callable<Integer> {

    private static final Logger log = LoggerFactory.getLogger(RunCommand.class);

    @Spec
    CommandSpec spec;

    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE",
            description = "The properties file; every key can be overridden by a PGRELAY_* environment variable.")
    Path configFile;

    @Override
    public Integer call() throws InterruptedException {
        // Signals first: a SIGTERM during start-up must still end in an orderly exit 0.
        StopSignals.Deferred stop = StopSignals.installEarly();
        RelayConfig config;
        try {
            config = ConfigLoader.load(configFile, System.getenv());
        } catch (ConfigException e) {
            stop.detach();
            e.problems().forEach(problem -> spec.commandLine().getErr().println("pgrelay: config: " + problem));
            return ExitCode.USAGE;
        }
        log.info("pgrelay {} starting: {}", VersionProvider.version(), ConfigLoader.describe(config));
        if (!preflightPassed(config)) {
            stop.detach();
            return ExitCode.CHECK_FAILED;
        }
        try (Observability observability = new Observability()) {
            Relay relay = new Relay(config, observability.listener());
            try {
                observability.start(relay, config);
            } catch (IOException e) {
                stop.detach();
                spec.commandLine().getErr().println("pgrelay: http.listen " + config.httpListen() + ": " + e.getMessage());
                return ExitCode.USAGE;
            }
            stop.attach(relay, config.shutdownTimeout());
            return relay.run();
        }
    }

    /**
     * The checks of {@code pgrelay check}, one log line per problem. A FAIL stops the start
     * (wrong credentials included); an end that is down or busy right now does not: the relay's
     * reconnect loop waits for it, as systemd and compose start a relay before its databases.
     */
    private static boolean preflightPassed(RelayConfig config) {
        CheckReport report = CheckCommand.preflight(config);
        List<Check> blocking = report.blockingRun();
        for (Check check : report.checks()) {
            if (blocking.contains(check)) {
                log.error("preflight: {}", check.oneLine());
            } else if (check.failed() || check.status() == Check.Status.WARN) {
                log.warn("preflight: {}", check.oneLine());
            }
        }
        if (!blocking.isEmpty()) {
            log.info("not starting: {} (pgrelay check -c FILE prints every check)", report.summary());
            return false;
        }
        log.info("preflight: {}", report.summary());
        return true;
    }
}
