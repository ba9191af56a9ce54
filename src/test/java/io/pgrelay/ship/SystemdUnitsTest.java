package io.pgrelay.ship;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.config.ConfigKeys;
import io.pgrelay.config.Durations;
import io.pgrelay.config.KeySpec;
import io.pgrelay.ship.SystemdUnit.Directive;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The systemd units say what the deployment promises: the restart and stop policy that the exit
 * codes and shutdown.timeout call for, the sandbox, and the template's per-instance paths.
 * systemd's own check of the files is {@code systemd/verify.sh}, run by {@code SystemdUnitsIT}
 * where systemd-analyze exists; this test needs nothing but the files.
 */
@Tag("unit")
@Timeout(10)
class SystemdUnitsTest {

    private static final String TEMPLATE = "pgrelay@.service";
    private static final String SINGLE = "pgrelay.service";
    private static final String JAR = "/opt/pgrelay/pgrelay.jar";

    /** Directives both units must carry with exactly these values. */
    private static final Map<String, String> REQUIRED = Map.ofEntries(
            Map.entry("Type", "simple"),
            Map.entry("User", "pgrelay"),
            Map.entry("Group", "pgrelay"),
            Map.entry("Restart", "on-failure"),
            Map.entry("RestartPreventExitStatus", "2"),
            Map.entry("SuccessExitStatus", "0"),
            Map.entry("KillSignal", "SIGTERM"),
            Map.entry("NoNewPrivileges", "yes"),
            Map.entry("CapabilityBoundingSet", ""),
            Map.entry("AmbientCapabilities", ""),
            Map.entry("UMask", "0077"),
            Map.entry("ProtectSystem", "strict"),
            Map.entry("ProtectHome", "yes"),
            Map.entry("PrivateTmp", "yes"),
            Map.entry("PrivateDevices", "yes"),
            Map.entry("ProtectKernelTunables", "yes"),
            Map.entry("ProtectKernelModules", "yes"),
            Map.entry("ProtectKernelLogs", "yes"),
            Map.entry("ProtectControlGroups", "yes"),
            Map.entry("ProtectClock", "yes"),
            Map.entry("ProtectHostname", "yes"),
            Map.entry("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
            Map.entry("RestrictNamespaces", "yes"),
            Map.entry("RestrictRealtime", "yes"),
            Map.entry("RestrictSUIDSGID", "yes"),
            Map.entry("LockPersonality", "yes"),
            Map.entry("MemoryDenyWriteExecute", "no"),
            Map.entry("SystemCallArchitectures", "native"));

    @Test
    void bothUnitsCarryThePolicyAndTheSandbox() throws IOException {
        for (String name : List.of(TEMPLATE, SINGLE)) {
            SystemdUnit unit = SystemdUnit.read(name);
            REQUIRED.forEach((key, value) -> assertEquals(value, unit.serviceValue(key), name + ": " + key + "="));
            assertTrue(unit.service("SystemCallFilter").contains("@system-service"), name + ": SystemCallFilter=@system-service");
            assertEquals("multi-user.target", value(unit.section("Install"), "WantedBy"), name + ": WantedBy=");
        }
    }

    @Test
    void systemdWaitsLongerThanTheRelaysOwnStop() throws IOException {
        Duration shutdown = Durations.parse(ConfigKeys.SHUTDOWN_TIMEOUT.defaultValue());
        for (String name : List.of(TEMPLATE, SINGLE)) {
            String stop = SystemdUnit.read(name).serviceValue("TimeoutStopSec");
            assertNotNull(stop, name + ": TimeoutStopSec");
            assertTrue(Durations.parse(stop).compareTo(shutdown) > 0,
                    name + ": TimeoutStopSec=" + stop + " must exceed shutdown.timeout's default " + shutdown);
        }
    }

    @Test
    void theTemplateKeepsEachInstanceApart() throws IOException {
        SystemdUnit unit = SystemdUnit.read(TEMPLATE);
        assertEquals("-/etc/pgrelay/%i.env", unit.serviceValue("EnvironmentFile"));
        assertEquals("pgrelay/%i", unit.serviceValue("StateDirectory"));
        assertEquals("/var/lib/pgrelay/%i", unit.serviceValue("ReadWritePaths"));
        assertEquals("/var/lib/pgrelay/%i", unit.environment().get(ConfigKeys.DATA_DIR.envName()),
                "data.dir must be the one writable path");
        assertEquals("/bin/sh /opt/pgrelay/bin/pgrelay run -c /etc/pgrelay/%i.properties", unit.serviceValue("ExecStart"));
        Map<String, String> env = unit.environment();
        assertTrue(env.containsKey("JAVA_OPTS"), "JAVA_OPTS comes from an Environment= line");
        assertEquals(JAR, env.get("PGRELAY_JAR"));
        assertEquals("/usr/bin/java", env.get("JAVA"));
        assertEquals("/var/lib/pgrelay/%i/cds", env.get("PGRELAY_CDS_DIR"), "the class-data archive lives in the writable state directory");
    }

    /** pgrelay.service is the template with the instance fixed; nothing else may drift. */
    @Test
    void theSingleUnitIsTheTemplateWithTheInstanceFixed() throws IOException {
        SystemdUnit template = SystemdUnit.read(TEMPLATE);
        SystemdUnit single = SystemdUnit.read(SINGLE);
        assertEquals(template.sections().keySet(), single.sections().keySet());
        for (String section : template.sections().keySet()) {
            List<Directive> expected = template.section(section).stream()
                    .filter(d -> !(section.equals("Unit") && d.key().equals("Description")))
                    .map(d -> new Directive(d.key(), fixInstance(d.value())))
                    .toList();
            List<Directive> actual = single.section(section).stream()
                    .filter(d -> !(section.equals("Unit") && d.key().equals("Description")))
                    .toList();
            assertEquals(expected, actual, "[" + section + "] of " + SINGLE + " differs from " + TEMPLATE);
        }
    }

    @Test
    void environmentNamesRealKeys() throws IOException {
        Set<String> known = new HashSet<>();
        for (KeySpec key : ConfigKeys.all()) {
            known.add(key.envName());
            known.add(key.fileEnvName());
        }
        // The launcher's own variables (bin/pgrelay unsets them before java starts).
        known.addAll(List.of("PGRELAY_JAR", "PGRELAY_CDS", "PGRELAY_CDS_DIR"));
        for (String name : List.of(TEMPLATE, SINGLE)) {
            for (String variable : SystemdUnit.read(name).environment().keySet()) {
                if (variable.startsWith(ConfigKeys.ENV_PREFIX)) {
                    assertTrue(known.contains(variable), name + ": " + variable + " is no configuration key");
                }
            }
        }
    }

    @Test
    void theUnitsRunTheJarTheImageShips() throws IOException {
        boolean copied = DockerfileInstructions.read(DockerfileInstructions.DOCKERFILE).finalStage().stream()
                .anyMatch(i -> i.keyword().equals("COPY") && i.arguments().endsWith(" " + JAR));
        assertTrue(copied, "the Dockerfile does not install " + JAR);
    }

    @Test
    void sysusersCreatesTheServiceUser() throws IOException {
        List<String> entries = Files.readAllLines(SystemdUnit.DIR.resolve("pgrelay.sysusers")).stream()
                .filter(line -> !line.isBlank() && !line.startsWith("#"))
                .toList();
        assertEquals(1, entries.size(), "one sysusers entry: " + entries);
        String entry = entries.get(0);
        assertTrue(entry.matches("u\\s+pgrelay\\s+-\\s+\"[^\"]+\"\\s+/var/lib/pgrelay\\s+/usr/sbin/nologin"), entry);
    }

    private static String fixInstance(String value) {
        return value.replace("/etc/pgrelay/%i.", "/etc/pgrelay/pgrelay.")
                .replace("/var/lib/pgrelay/%i", "/var/lib/pgrelay")
                .replace("pgrelay/%i", "pgrelay");
    }

    private static String value(List<Directive> section, String key) {
        return section.stream().filter(d -> d.key().equals(key)).map(Directive::value).findFirst().orElse(null);
    }
}
