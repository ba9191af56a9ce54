package io.pgrelay.config;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The README's configuration reference must list every key the loader knows. */
@Timeout(10)
class ReadmeConfigTableTest {

    @Test
    void readmeListsEveryKey() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        for (KeySpec key : ConfigKeys.all()) {
            assertTrue(readme.contains("| `" + key.name() + "` |"), "README.md configuration table lacks " + key.name());
        }
    }
}
