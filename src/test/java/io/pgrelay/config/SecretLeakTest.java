package io.pgrelay.config;

import static io.pgrelay.config.TestConfigs.failing;
import static io.pgrelay.config.TestConfigs.load;
import static io.pgrelay.config.TestConfigs.minimalWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

/** Passwords reach the driver and nothing else: not toString, not describe, not a problem message. */
@Tag("unit")
@Timeout(10)
class SecretLeakTest {
    private static final List<String> SECRETS = List.of("QueryPw1", "UserInfoPw2", "KeyPw3", "FeedPw4", "FilePw5", "EnvPw6");

    private static void assertNoSecretIn(String text) {
        for (String secret : SECRETS) {
            assertFalse(text.contains(secret), "'" + secret + "' leaked into: " + text);
        }
    }

    @Test
    void passwordInUrlQueryMovesIntoTheSecret() {
        RelayConfig c = load(minimalWith("upstream.url", "jdbc:postgresql://up/app?user=a&PassWord=QueryPw1&ssl=true"));
        assertEquals("jdbc:postgresql://up/app?user=a&ssl=true", c.upstream().url());
        assertEquals("QueryPw1", c.upstream().password().reveal());
        assertNoSecretIn(c.toString());
        assertNoSecretIn(ConfigLoader.describe(c));
        assertNoSecretIn(c.upstream().toString());
    }

    @Test
    void passwordInUserInfoMovesIntoTheSecret() {
        RelayConfig c = load(minimalWith("downstream.url", "jdbc:postgresql://bob:UserInfoPw2@down:5432/app"));
        assertEquals("jdbc:postgresql://down:5432/app", c.downstream().url());
        assertEquals("UserInfoPw2", c.downstream().password().reveal());
        assertNoSecretIn(c.toString());
    }

    @Test
    void passwordKeyWinsOverTheUrl() {
        RelayConfig c = load(minimalWith(
                "upstream.url", "jdbc:postgresql://up/app?password=QueryPw1",
                "upstream.password", "KeyPw3"));
        assertEquals("KeyPw3", c.upstream().password().reveal());
        assertEquals("jdbc:postgresql://up/app", c.upstream().url());
        assertNoSecretIn(c.toString());
    }

    @Test
    void describeAndToStringMaskEveryPassword(@TempDir Path dir) throws IOException {
        Path pwFile = dir.resolve("pw");
        Files.writeString(pwFile, "FilePw5\n");
        RelayConfig c = ConfigLoader.fromProperties(minimalWith(
                "upstream.password", "KeyPw3",
                "feed.password", "FeedPw4",
                "downstream.password.file", pwFile.toString()),
                Map.of());
        assertEquals("FilePw5", c.downstream().password().reveal());
        String description = ConfigLoader.describe(c);
        assertNoSecretIn(description);
        assertNoSecretIn(c.toString());
        assertTrue(description.contains("upstream.password=*****"), description);
        assertTrue(description.contains("downstream.password=*****"), description);
        assertTrue(description.contains("feed.password=*****"), description);
    }

    @Test
    void aPasswordPastedOnItsOwnLineIsNotEchoed() {
        ConfigException e = failing(minimalWith("KeyPw3!#", "", "colour", "blue"));
        assertEquals(List.of(
                "an entry in the configuration is not shaped like a key (not shown: it may be a secret): "
                        + "write each setting as KEY=VALUE with a key from the configuration reference",
                "colour: unknown key in the configuration: "
                        + "remove it or correct its spelling (see the configuration reference)"),
                e.problems());
    }

    @Test
    void noProblemMessageCarriesASecret(@TempDir Path dir) throws IOException {
        Path badUrlFile = dir.resolve("url");
        Files.writeString(badUrlFile, "http://x?password=FilePw5\n");
        Properties p = minimalWith(
                // invalid URLs that embed passwords: quoted, but masked
                "upstream.url", "postgres://a:UserInfoPw2@up/app?password=QueryPw1",
                "downstream.url.file", badUrlFile.toString(),
                // a secret given twice
                "upstream.password", "KeyPw3",
                "upstream.password.file", "/nonexistent/FeedPw4",
                "upstream.slot", "Bad Slot");
        p.remove("downstream.url");
        ConfigException e = failing(p, Map.of("PGRELAY_FEED_PASSWORD", "EnvPw6", "PGRELAY_FEED_LISTEN", "x:1"));

        assertEquals(List.of(
                "upstream.password: set both as a value in the configuration and as upstream.password.file "
                        + "in the configuration: keep only one of them",
                "upstream.url: 'postgres://a:*****@up/app?password=*****' is not a PostgreSQL JDBC URL: "
                        + "use jdbc:postgresql://HOST[:PORT]/DATABASE",
                "upstream.slot: 'Bad Slot' is not a valid slot name: use 1-63 lower-case letters, digits or underscores",
                "downstream.url: the value is not a PostgreSQL JDBC URL: use jdbc:postgresql://HOST[:PORT]/DATABASE "
                        + "(read from " + badUrlFile + ")",
                "feed.user is required when feed.listen is set: name the login feed clients use"),
                e.problems());
        // The path "/nonexistent/FeedPw4" is not a secret, but its file was never read: no content can leak.
        for (String problem : e.problems()) {
            for (String secret : List.of("QueryPw1", "UserInfoPw2", "KeyPw3", "FilePw5", "EnvPw6")) {
                assertFalse(problem.contains(secret), problem);
            }
        }
        assertFalse(e.getMessage().contains("KeyPw3"));
    }
}
