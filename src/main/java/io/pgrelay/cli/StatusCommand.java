package io.pgrelay.cli;

import io.pgrelay.config.ConfigException;
import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.HostPort;
import io.pgrelay.config.RelayConfig;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pgrelay status}: asks a running relay for its {@code /status} report (upstream, slot,
 * positions, lag, checkpoint, feed slots) and prints it as one screen or as JSON.
 */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show a running relay's positions, lag, checkpoint and feed slots (needs http.listen).")
final class StatusCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @ArgGroup(multiplicity = "1")
    Target target;

    static final class Target {
        @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "The relay's properties file (its http.listen is asked).")
        Path configFile;

        @Option(names = "--url", paramLabel = "URL", description = "The relay's HTTP endpoint, e.g. http://127.0.0.1:9187")
        String url;
    }

    @Option(names = "--json", description = "Print the report as JSON.")
    boolean json;

    @Override
    public Integer call() throws InterruptedException {
        String base;
        try {
            base = target.url != null ? target.url : baseUrl(ConfigLoader.load(target.configFile, System.getenv()));
        } catch (ConfigException e) {
            e.problems().forEach(problem -> spec.commandLine().getErr().println("pgrelay: config: " + problem));
            return ExitCode.USAGE;
        }
        if (base == null) {
            spec.commandLine().getErr().println("pgrelay: status needs the relay's HTTP endpoint: set http.listen in "
                    + target.configFile + " (and restart the relay), or pass --url");
            return ExitCode.USAGE;
        }
        URI uri = URI.create(base.replaceAll("/+$", "") + "/status" + (json ? "" : "?format=text"));
        try {
            HttpResponse<String> response = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
                    .send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                spec.commandLine().getErr().println("pgrelay: " + uri + " answered HTTP " + response.statusCode());
                return ExitCode.FAILURE;
            }
            spec.commandLine().getOut().print(response.body());
            spec.commandLine().getOut().flush();
            return ExitCode.OK;
        } catch (IOException | IllegalArgumentException e) {
            spec.commandLine().getErr().println("pgrelay: cannot reach " + uri + ": " + e.getMessage()
                    + ": is the relay running with http.listen set?");
            return ExitCode.FAILURE;
        }
    }

    /** The HTTP endpoint a relay with this configuration listens on; a wildcard host is asked on loopback. */
    private static String baseUrl(RelayConfig config) {
        if (config.httpListen() == null || config.httpListen().isEmpty()) {
            return null;
        }
        HostPort listen = HostPort.parse(config.httpListen());
        String host = listen.host().equals("0.0.0.0") || listen.host().equals("::") ? "127.0.0.1" : listen.host();
        return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + listen.port();
    }
}
