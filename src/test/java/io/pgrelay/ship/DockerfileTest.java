package io.pgrelay.ship;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.config.ConfigKeys;
import io.pgrelay.config.HostPort;
import io.pgrelay.ship.DockerfileInstructions.Instruction;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The image's contract, read from the Dockerfile (no Docker engine needed): two stages, a
 * non-root user with a fixed uid, java as PID 1 in exec form so SIGTERM reaches the relay, the
 * data directory on a volume, and a health check on the port the image's HTTP endpoint uses.
 * Whether the ENV names are keys is {@link ComposeConfigTest}'s business.
 */
@Tag("unit")
@Timeout(10)
class DockerfileTest {

    private static DockerfileInstructions dockerfile;

    @BeforeAll
    static void read() throws IOException {
        dockerfile = DockerfileInstructions.read(DockerfileInstructions.DOCKERFILE);
    }

    @Test
    void buildsWithMavenAndShipsOnTheJre() {
        List<String> from = dockerfile.of("FROM").stream().map(Instruction::arguments).toList();
        assertEquals(List.of("maven:3.9-eclipse-temurin-17 AS build", "eclipse-temurin:17-jre"), from);
        assertTrue(dockerfile.of("RUN").stream().anyMatch(i -> i.arguments().contains("mvn -q -B package -DskipTests")),
                "the build stage runs mvn -q -B package -DskipTests");
        assertTrue(dockerfile.finalStage().stream().anyMatch(i -> i.keyword().equals("COPY")
                        && i.arguments().equals("--from=build /src/target/pgrelay.jar /opt/pgrelay/pgrelay.jar")),
                "the runtime stage takes the jar from the build stage");
    }

    @Test
    void runsAsItsOwnUnprivilegedUser() {
        List<Instruction> users = dockerfile.finalStage().stream().filter(i -> i.keyword().equals("USER")).toList();
        assertEquals(1, users.size(), "one USER in the runtime stage");
        assertEquals("10001:10001", users.get(0).arguments(), "numeric, so runAsNonRoot-style checks can verify it");
        assertTrue(dockerfile.finalStage().stream().anyMatch(i -> i.keyword().equals("RUN")
                && i.arguments().contains("useradd --system --uid 10001 --gid pgrelay")), "user pgrelay has uid 10001");
    }

    @Test
    void javaIsPidOneInExecForm() {
        List<String> entrypoint = execForm(single("ENTRYPOINT"));
        assertEquals("java", entrypoint.get(0));
        assertEquals(List.of("-jar", "/opt/pgrelay/pgrelay.jar"), entrypoint.subList(entrypoint.size() - 2, entrypoint.size()));
        assertEquals(List.of("run", "-c", "/etc/pgrelay/pgrelay.properties"), execForm(single("CMD")));
        assertTrue(dockerfile.finalStage().stream().anyMatch(i -> i.keyword().equals("RUN")
                && i.arguments().contains("> /etc/pgrelay/pgrelay.properties")), "the image ships the file CMD names");
    }

    @Test
    void dataLivesOnAVolumeAndThePortsAreExposed() {
        Map<String, String> env = dockerfile.finalEnv();
        String dataDir = env.get(ConfigKeys.DATA_DIR.envName());
        assertEquals(List.of(dataDir), execForm(single("VOLUME")), "VOLUME is data.dir");
        List<String> exposed = List.of(single("EXPOSE").split("\\s+"));
        int httpPort = HostPort.parse(env.get(ConfigKeys.HTTP_LISTEN.envName())).port();
        assertTrue(exposed.contains(String.valueOf(httpPort)), "EXPOSE " + exposed + " lacks the HTTP port " + httpPort);
        assertTrue(exposed.contains("6001"), "EXPOSE " + exposed + " lacks the feed's conventional port 6001");
    }

    @Test
    void healthCheckAsksHealthOnTheHttpListenPort() {
        String healthcheck = single("HEALTHCHECK");
        assertTrue(healthcheck.contains("http://127.0.0.1:${" + ConfigKeys.HTTP_LISTEN.envName() + "##*:}/health"),
                "the check follows " + ConfigKeys.HTTP_LISTEN.envName() + ": " + healthcheck);
        assertTrue(healthcheck.endsWith("|| exit 1"), "Docker reserves exit codes other than 0 and 1: " + healthcheck);
    }

    @Test
    void theBuildContextAdmitsWhatTheBuildCopies() throws IOException {
        List<String> admitted = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(".dockerignore"))) {
            if (line.startsWith("!")) {
                admitted.add(line.substring(1).replaceAll("/+$", ""));
            }
        }
        assertEquals("*", Files.readAllLines(Path.of(".dockerignore")).stream()
                .filter(l -> !l.isBlank() && !l.startsWith("#")).findFirst().orElse(""), ".dockerignore starts from nothing");
        for (Instruction copy : dockerfile.of("COPY")) {
            if (copy.arguments().startsWith("--from=")) {
                continue;
            }
            String source = copy.arguments().split("\\s+")[0];
            assertTrue(admitted.stream().anyMatch(a -> source.equals(a) || source.startsWith(a + "/")),
                    "COPY " + source + " is not admitted by .dockerignore " + admitted);
            assertTrue(Files.exists(Path.of(source)), "COPY " + source + ": no such path in the repository");
        }
        assertFalse(admitted.stream().anyMatch(a -> a.startsWith("target") || a.startsWith(".git")
                || a.startsWith("conf/compose")), "build output, git metadata and compose secrets stay out: " + admitted);
    }

    private static String single(String keyword) {
        List<Instruction> found = dockerfile.finalStage().stream().filter(i -> i.keyword().equals(keyword)).toList();
        assertEquals(1, found.size(), "one " + keyword + " in the runtime stage");
        return found.get(0).arguments();
    }

    /** The strings of a JSON-array (exec form) argument; fails on shell form. */
    private static List<String> execForm(String arguments) {
        assertTrue(arguments.startsWith("[") && arguments.endsWith("]"), "exec form expected: " + arguments);
        List<String> words = new ArrayList<>();
        Matcher word = Pattern.compile("\"([^\"]*)\"").matcher(arguments);
        while (word.find()) {
            words.add(word.group(1));
        }
        return words;
    }
}
