package io.pgrelay.config;

import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import java.util.Properties;

/** Shared fixtures: the smallest valid configuration, and shortcuts to load or fail one. */
final class TestConfigs {
    private TestConfigs() {
    }

    /** Only the required keys; everything else takes its default. */
    static Properties minimal() {
        Properties p = new Properties();
        p.setProperty("upstream.url", "jdbc:postgresql://up.example:5432/app");
        p.setProperty("upstream.user", "repl");
        p.setProperty("upstream.slot", "relay_1");
        p.setProperty("upstream.publications", "pub_a");
        p.setProperty("downstream.url", "jdbc:postgresql://down.example:5432/app");
        p.setProperty("downstream.user", "writer");
        return p;
    }

    static Properties minimalWith(String... keyValues) {
        Properties p = minimal();
        for (int i = 0; i < keyValues.length; i += 2) {
            p.setProperty(keyValues[i], keyValues[i + 1]);
        }
        return p;
    }

    static RelayConfig load(Properties p) {
        return ConfigLoader.fromProperties(p, Map.of());
    }

    static ConfigException failing(Properties p) {
        return failing(p, Map.of());
    }

    static ConfigException failing(Properties p, Map<String, String> env) {
        return assertThrows(ConfigException.class, () -> ConfigLoader.fromProperties(p, env));
    }
}
