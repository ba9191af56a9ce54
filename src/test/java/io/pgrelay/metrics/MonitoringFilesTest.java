package io.pgrelay.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The alert rules and the dashboard only name metrics that exist, the README documents every
 * pgrelay metric the registry exports, and promtool (when installed, as in CI) accepts the rules.
 */
@Timeout(60)
class MonitoringFilesTest {

    private static final Path RULES = Path.of("conf/prometheus/pgrelay-alerts.yml");
    private static final Path DASHBOARD = Path.of("conf/grafana/pgrelay-dashboard.json");
    private static final Pattern NAME = Pattern.compile("\\bpgrelay_[a-z_]+");

    @Test
    void rulesAndDashboardNameOnlyDocumentedMetrics() throws Exception {
        Set<String> documented = documented();
        for (Path file : new Path[] {RULES, DASHBOARD}) {
            Matcher m = NAME.matcher(Files.readString(file));
            while (m.find()) {
                String name = m.group().replaceAll("_(bucket|sum|count)$", "");
                assertTrue(documented.contains(name), file + " names " + m.group() + ", which the README's metrics table lacks");
            }
        }
    }

    @Test
    void readmeDocumentsEveryExportedPgrelayMetric() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        RelayMetrics metrics = new RelayMetrics(registry);
        metrics.rowApplied(null, "insert");
        metrics.sessionFailed("upstream", "08", false);
        metrics.syncCopied("public.t", 1, 10);
        Set<String> exported = new TreeSet<>();
        Matcher m = Pattern.compile("(?m)^(pgrelay_[a-z_]+?)(_bucket|_sum|_count|_max)?[{ ]").matcher(registry.scrape());
        while (m.find()) {
            exported.add(m.group(1));
        }
        assertTrue(exported.size() >= 6, "exported: " + exported);
        exported.removeAll(documented());
        assertEquals(Set.of(), exported, "metrics missing from the README's metrics table");
    }

    @Test
    void promtoolAcceptsTheRules() throws Exception {
        File promtool = findOnPath("promtool");
        org.junit.jupiter.api.Assumptions.assumeTrue(promtool != null,
                "promtool is not installed (apt-get install prometheus; .ci/run installs it)");
        Process process = new ProcessBuilder(promtool.getPath(), "check", "rules", RULES.toString())
                .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertTrue(process.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, process.exitValue(), output);
        assertTrue(output.contains("SUCCESS"), output);
    }

    private static Set<String> documented() throws Exception {
        Set<String> names = new TreeSet<>();
        Matcher m = Pattern.compile("\\| `(pgrelay_[a-z_]+)` \\|").matcher(Files.readString(Path.of("README.md")));
        while (m.find()) {
            names.add(m.group(1));
            names.add(m.group(1).replaceAll("_total$", "")); // rules may use the counter's base name
        }
        return names;
    }

    private static File findOnPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            File file = new File(dir, command);
            if (file.canExecute()) {
                return file;
            }
        }
        return null;
    }
}
