package io.pgrelay.ship;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * systemd's own verdict on the shipped units: {@code systemd/verify.sh} runs
 * {@code systemd-analyze verify} on pgrelay.service, pgrelay@.service and an instance of the
 * template, and {@code systemd-analyze security --offline=yes} with an exposure ceiling. Needs
 * the systemd package (not a running systemd); skipped with a message where it is absent.
 * Broken copies of the units prove the script fails on what systemd only warns about.
 */
@Timeout(120)
class SystemdUnitsIT {

    private static final Path SCRIPT = Path.of("systemd/verify.sh");
    private static final int NOT_INSTALLED = 77;

    @TempDir
    Path dir;

    @BeforeAll
    static void needsSystemdAnalyze() {
        Assumptions.assumeTrue(onPath("systemd-analyze"),
                "systemd-analyze is not installed (apt-get install systemd): the systemd units are not verified");
    }

    @Test
    void shippedUnitsPassVerifyAndStayUnderTheExposureCeiling() throws Exception {
        Result result = verify(Map.of());
        Assumptions.assumeFalse(result.exit == NOT_INSTALLED, result.output);
        System.out.println(result.output); // the exposure scores, in the build log
        assertEquals(0, result.exit, result.output);
        for (String unit : List.of("pgrelay.service", "pgrelay@.service", "pgrelay@demo.service")) {
            assertTrue(result.output.contains("ok   systemd-analyze verify " + unit), result.output);
        }
        if (!result.output.contains("exposure not checked")) {
            for (String unit : List.of("pgrelay.service", "pgrelay@demo.service")) {
                assertTrue(result.output.contains("ok   systemd-analyze security " + unit + ": "), result.output);
            }
        }
    }

    @Test
    void unknownKeysAndBadValuesFail() throws Exception {
        Path units = copyUnits();
        Path template = units.resolve("pgrelay@.service");
        Files.writeString(template, Files.readString(template)
                .replace("Restart=on-failure\n", "Restart=on-failure\nRestartPreventExitStatuz=2\n")
                .replace("TimeoutStopSec=60s\n", "TimeoutStopSec=sixty\n"));
        Result result = verify(Map.of(), units.toString());
        assertEquals(1, result.exit, result.output);
        assertTrue(result.output.contains("FAIL systemd-analyze verify pgrelay@.service"), result.output);
        assertTrue(result.output.contains("RestartPreventExitStatuz"), result.output);
        assertFalse(result.output.contains("FAIL systemd-analyze verify pgrelay.service"), result.output);
    }

    @Test
    void anExposureAboveTheCeilingFails() throws Exception {
        Result result = verify(Map.of("PGRELAY_UNIT_EXPOSURE_MAX", "5"));
        Assumptions.assumeFalse(result.output.contains("exposure not checked"), "no offline security check here");
        assertEquals(1, result.exit, result.output);
        assertTrue(result.output.contains("FAIL systemd-analyze security"), result.output);
    }

    private Path copyUnits() throws IOException {
        Path units = Files.createDirectories(dir.resolve("units"));
        for (String unit : List.of("pgrelay.service", "pgrelay@.service")) {
            Files.copy(Path.of("systemd", unit), units.resolve(unit));
        }
        return units;
    }

    private record Result(int exit, String output) {
    }

    private static Result verify(Map<String, String> env, String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("sh", SCRIPT.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(env);
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(90, TimeUnit.SECONDS), "verify.sh did not finish");
        return new Result(process.exitValue(), output);
    }

    private static boolean onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String entry : path.split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(entry, program))) {
                return true;
            }
        }
        return false;
    }
}
