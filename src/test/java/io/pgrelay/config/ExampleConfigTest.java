package io.pgrelay.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The shipped example must load as it is and document every key, so it cannot drift. */
@Timeout(10)
class ExampleConfigTest {

    private static final Path EXAMPLE = Path.of("conf/pgrelay.properties");

    @Test
    void exampleLoadsWithoutProblems() {
        RelayConfig config = ConfigLoader.load(EXAMPLE, Map.of());
        assertEquals("pgrelay_reporting", config.relayName());
    }

    @Test
    void exampleMentionsEveryKey() throws Exception {
        String text = Files.readString(EXAMPLE);
        for (KeySpec key : ConfigKeys.all()) {
            assertTrue(text.contains(key.name() + " ="), "conf/pgrelay.properties does not document " + key.name());
        }
    }
}
