package io.pgrelay.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The key table is also the README's reference: it must stay consistent with itself. */
@Tag("unit")
@Timeout(5)
class ConfigKeysTest {

    @Test
    void environmentNamesFollowTheRule() {
        assertEquals("PGRELAY_DOWNSTREAM_PASSWORD", ConfigKeys.DOWNSTREAM_PASSWORD.envName());
        assertEquals("PGRELAY_APPLY_BATCH_SIZE", ConfigKeys.APPLY_BATCH_SIZE.envName());
        assertEquals("PGRELAY_DOWNSTREAM_PASSWORD_FILE", ConfigKeys.DOWNSTREAM_PASSWORD.fileEnvName());
        assertEquals("downstream.password.file", ConfigKeys.DOWNSTREAM_PASSWORD.fileKey());
    }

    @Test
    void everyNameAndVariableIsUnambiguous() {
        Set<String> names = new HashSet<>();
        Set<String> variables = new HashSet<>(ConfigKeys.NON_KEY_ENV);
        for (KeySpec spec : ConfigKeys.all()) {
            assertTrue(names.add(spec.name()), spec.name());
            assertTrue(names.add(spec.fileKey()), spec.fileKey());
            assertTrue(variables.add(spec.envName()), spec.envName());
            assertTrue(variables.add(spec.fileEnvName()), spec.fileEnvName());
        }
    }

    @Test
    void everyRowIsDocumented() {
        for (KeySpec spec : ConfigKeys.all()) {
            assertFalse(spec.meaning().isBlank(), spec.name());
            assertFalse(spec.meaning().contains("\n"), spec.name());
            assertTrue(spec.name().matches("[a-z]+(\\.[a-z-]+)+"), spec.name());
            assertFalse(spec.required() && !spec.defaultValue().isEmpty(), spec.name() + ": required with a default");
            assertFalse(spec.typeDescription().isBlank(), spec.name());
        }
    }

    @Test
    void describesTypesForTheReference() {
        assertEquals("integer 1..64", ConfigKeys.DOWNSTREAM_POOL_SIZE.typeDescription());
        assertEquals("duration 100ms..1h", ConfigKeys.UPSTREAM_STATUS_INTERVAL.typeDescription());
        assertEquals("error|skip|upsert", ConfigKeys.APPLY_CONFLICT.typeDescription());
        assertEquals("string, 1..63 characters", ConfigKeys.RELAY_NAME.typeDescription());
        assertEquals("secret", ConfigKeys.FEED_PASSWORD.typeDescription());
    }

    @Test
    void findsByName() {
        assertEquals(ConfigKeys.UPSTREAM_SLOT, ConfigKeys.find("upstream.slot").orElseThrow());
        assertTrue(ConfigKeys.find("upstream.slot.file").isEmpty());
    }
}
