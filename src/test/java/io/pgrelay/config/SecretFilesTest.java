package io.pgrelay.config;

import static io.pgrelay.config.TestConfigs.failing;
import static io.pgrelay.config.TestConfigs.load;
import static io.pgrelay.config.TestConfigs.minimal;
import static io.pgrelay.config.TestConfigs.minimalWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code KEY.file}: a value read from a file, as container secret mounts provide them. */
@Tag("unit")
@Timeout(10)
class SecretFilesTest {
    @TempDir
    Path dir;

    private Path secretFile(String content) throws IOException {
        Path file = Files.createTempFile(dir, "secret", ".txt");
        Files.writeString(file, content);
        return file;
    }

    @Test
    void stripsOneTrailingNewline() throws IOException {
        assertEquals("s3cret", passwordFrom("s3cret\n"));
        assertEquals("s3cret", passwordFrom("s3cret\r\n"));
        assertEquals("s3cret", passwordFrom("s3cret"));
        assertEquals("s3cret\n", passwordFrom("s3cret\n\n"), "only one newline goes");
        assertEquals(" s3cret ", passwordFrom(" s3cret \n"), "a password keeps its blanks");
    }

    private String passwordFrom(String content) throws IOException {
        Path file = secretFile(content);
        return load(minimalWith("downstream.password.file", file.toString())).downstream().password().reveal();
    }

    @Test
    void fileNamedByTheEnvironment() throws IOException {
        Path file = secretFile("from-env-file\n");
        RelayConfig c = ConfigLoader.fromProperties(minimal(),
                Map.of("PGRELAY_UPSTREAM_PASSWORD_FILE", file.toString()));
        assertEquals("from-env-file", c.upstream().password().reveal());
    }

    @Test
    void environmentFileWinsOverConfigFileReference() throws IOException {
        Path inFile = secretFile("one");
        Path inEnv = secretFile("two");
        RelayConfig c = ConfigLoader.fromProperties(minimalWith("feed.password.file", inFile.toString()),
                Map.of("PGRELAY_FEED_PASSWORD_FILE", inEnv.toString()));
        assertEquals("two", c.feed().password().reveal());
    }

    @Test
    void worksForAnyKeyNotOnlySecrets() throws IOException {
        Path url = secretFile("jdbc:postgresql://from-file/app\n");
        Path size = secretFile("12\n");
        Properties p = minimalWith("upstream.url.file", url.toString(), "apply.batch-size.file", size.toString());
        p.remove("upstream.url");
        RelayConfig c = load(p);
        assertEquals("jdbc:postgresql://from-file/app", c.upstream().url());
        assertEquals(12, c.applyBatchSize());
    }

    @Test
    void valueAndFileTogetherIsAProblem() throws IOException {
        Path file = secretFile("x");
        ConfigException e = failing(minimalWith(
                "downstream.password", "pw",
                "downstream.password.file", file.toString()));
        assertEquals(List.of("downstream.password: set both as a value in the configuration and as "
                + "downstream.password.file in the configuration: keep only one of them"), e.problems());
    }

    @Test
    void valueAndFileFromDifferentSourcesIsAProblemToo() throws IOException {
        Path file = secretFile("x");
        ConfigException e = failing(minimalWith("upstream.password", "pw"),
                Map.of("PGRELAY_UPSTREAM_PASSWORD_FILE", file.toString()));
        assertEquals(List.of("upstream.password: set both as a value in the configuration and as "
                + "upstream.password.file by PGRELAY_UPSTREAM_PASSWORD_FILE: keep only one of them"), e.problems());

        e = failing(minimalWith("upstream.password.file", file.toString()), Map.of("PGRELAY_UPSTREAM_PASSWORD", "pw"));
        assertEquals(List.of("upstream.password: set both as a value by PGRELAY_UPSTREAM_PASSWORD and as "
                + "upstream.password.file in the configuration: keep only one of them"), e.problems());
    }

    @Test
    void conflictOnARequiredKeyIsNotAlsoReportedMissing() throws IOException {
        Path file = secretFile("writer");
        ConfigException e = failing(minimalWith("downstream.user.file", file.toString()));
        assertEquals(1, e.problems().size(), e.problems().toString());
    }

    @Test
    void emptyValueBesideAFileIsNoConflict() throws IOException {
        // A shipped template often keeps "downstream.password=" while the deployment mounts a secret.
        Path file = secretFile("mounted\n");
        RelayConfig c = load(minimalWith("downstream.password", "", "downstream.password.file", file.toString()));
        assertEquals("mounted", c.downstream().password().reveal());
    }

    @Test
    void unreadableFileNamesKeyAndPathButNoContent() throws IOException {
        Path missing = dir.resolve("absent");
        ConfigException e = failing(minimalWith("downstream.password.file", missing.toString()),
                Map.of("PGRELAY_FEED_PASSWORD_FILE", dir.toString()));
        assertEquals(List.of(
                "downstream.password.file: cannot read " + missing + " (no such file): "
                        + "fix the path or let the relay's user read the file",
                "feed.password.file: " + dir + " is a directory: "
                        + "fix the path or let the relay's user read the file (set by PGRELAY_FEED_PASSWORD_FILE)"),
                e.problems());
    }

    @Test
    void unreadableFileOfARequiredKeyIsNotAlsoReportedMissing() {
        ConfigException e = failing(minimalWith("upstream.user.file", dir.resolve("absent").toString()),
                Map.of("PGRELAY_UPSTREAM_USER", ""));
        assertEquals(1, e.problems().size(), e.problems().toString());
        assertTrue(e.problems().get(0).startsWith("upstream.user.file: cannot read "));
    }

    @Test
    void badValueFromAFileIsNotQuoted() throws IOException {
        Path file = secretFile("Not-A-Slot\n");
        Properties p = minimalWith("upstream.slot.file", file.toString());
        p.remove("upstream.slot");
        ConfigException e = failing(p);
        assertEquals(List.of("upstream.slot: the value is not a valid slot name: "
                + "use 1-63 lower-case letters, digits or underscores (read from " + file + ")"), e.problems());
    }
}
