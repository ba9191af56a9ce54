package io.pgrelay.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every configuration mistake the reliability docs list: a valid configuration with one thing
 * wrong. ConfigMistakesTest runs each through {@code pgrelay run -c FILE} and writes the table in
 * docs/RELIABILITY.md from what it saw; ConfigMistakesIT runs some as real processes.
 */
public final class ConfigMistakes {

    /**
     * @param mistake  what the operator got wrong, as the table names it
     * @param set      keys to set (a null value removes the key); the rest of {@link #valid()} stays
     * @param env      environment variables (only the process test can set them)
     * @param shown    how the table shows the setting
     */
    public record Mistake(String mistake, Map<String, String> set, Map<String, String> env, String shown) {

        /** The file the case is written to: named after the mistake, so messages that name it read well. */
        public String fileName() {
            return mistake.replaceAll("[^A-Za-z0-9]+", "-").replaceAll("^-|-$", "").toLowerCase(java.util.Locale.ROOT) + ".properties";
        }

        /** The file content: {@link #valid()} with {@link #set} applied. */
        public Map<String, String> properties() {
            Map<String, String> p = new LinkedHashMap<>(valid());
            set.forEach((key, value) -> {
                if (value == null) {
                    p.remove(key);
                } else {
                    p.put(key, value);
                }
            });
            return p;
        }
    }

    private ConfigMistakes() {}

    /** A configuration that loads: only the required keys. */
    public static Map<String, String> valid() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("upstream.url", "jdbc:postgresql://up.example:5432/app");
        p.put("upstream.user", "repl");
        p.put("upstream.slot", "relay_1");
        p.put("upstream.publications", "app_pub");
        p.put("downstream.url", "jdbc:postgresql://down.example:5432/app");
        p.put("downstream.user", "writer");
        return p;
    }

    /** The file-only cases: each runs in-process through the real command line. */
    public static List<Mistake> all() {
        return List.of(
                file("missing required key", "upstream.url", null, "`upstream.url` left out"),
                file("unknown key (typo)", "upstream.slots", "relay_1"),
                file("unknown key (wrong section)", "feed.listen-port", "6001"),
                file("URL that is not JDBC", "upstream.url", "postgresql://up.example/app"),
                file("URL of another database kind", "downstream.url", "jdbc:mysql://down.example/app"),
                file("URL with a bad port", "downstream.url", "jdbc:postgresql://down.example:99999/app"),
                file("listen address without port", "http.listen", "127.0.0.1"),
                file("listen port out of range", "feed.listen", "127.0.0.1:70000"),
                file("duration in words", "feed.timeout", "1 minute"),
                file("duration out of range", "upstream.status-interval", "10ms"),
                file("size that is not a size", "feed.max-retained-bytes", "lots"),
                file("size out of range", "feed.max-retained-bytes", "1kB"),
                file("whole number expected", "downstream.pool-size", "four"),
                file("number out of range", "apply.batch-size", "0"),
                file("boolean expected", "heartbeat.enabled", "maybe"),
                file("unknown choice", "apply.conflict", "ignore"),
                file("invalid slot name", "upstream.slot", "My-Slot"),
                file("empty publication list", "upstream.publications", " , "),
                file("relay name too long", "relay.name", "r".repeat(64), "`relay.name` of 64 characters"),
                file("unsupported protocol version", "upstream.proto-version", "2"),
                new Mistake("more parallel copies than pool connections", Map.of("sync.parallel", "8",
                        "downstream.pool-size", "4"), Map.of(), "`sync.parallel=8`, `downstream.pool-size=4`"),
                file("unreadable password file", "downstream.password.file", "/nonexistent/pgrelay/downstream.pw"),
                new Mistake("password file and password both set", Map.of("downstream.password", "pw1",
                        "downstream.password.file", "/etc/hostname"), Map.of(),
                        "`downstream.password` and `downstream.password.file`"),
                new Mistake("feed without a user", Map.of("feed.listen", "127.0.0.1:6001", "feed.password", "pw"), Map.of(),
                        "`feed.listen` set, `feed.user` not"),
                new Mistake("feed with SCRAM but no password", Map.of("feed.listen", "127.0.0.1:6001", "feed.user", "child"),
                        Map.of(), "`feed.listen`, `feed.user`, no `feed.password`"),
                new Mistake("feed on a non-loopback address without password", Map.of("feed.listen", "0.0.0.0:6001",
                        "feed.user", "child", "feed.auth", "trust"), Map.of(), "`feed.listen=0.0.0.0:6001`, `feed.auth=trust`, no password"),
                new Mistake("TLS certificate without key", Map.of("feed.listen", "127.0.0.1:6001", "feed.user", "child",
                        "feed.password", "pw", "feed.tls.cert", "/etc/pgrelay/feed.pem"), Map.of(), "`feed.tls.cert` only"),
                new Mistake("conflicting backoffs", Map.of("retry.initial-backoff", "2m", "retry.max-backoff", "1m"), Map.of(),
                        "`retry.initial-backoff=2m`, `retry.max-backoff=1m`"));
    }

    /** Cases only a process can show: an override in the environment. */
    public static List<Mistake> environment() {
        return List.of(
                new Mistake("wrong type in an environment override", Map.of(), Map.of("PGRELAY_DOWNSTREAM_POOL_SIZE", "many"),
                        "`PGRELAY_DOWNSTREAM_POOL_SIZE=many`"),
                new Mistake("unknown PGRELAY_ variable next to a real mistake", Map.of("upstream.url", "postgres://x"),
                        Map.of("PGRELAY_UPSTREAM_SLOTT", "x"), "`PGRELAY_UPSTREAM_SLOTT=x` and a bad `upstream.url`"));
    }

    private static Mistake file(String mistake, String key, String value) {
        return file(mistake, key, value, "`" + key + "=" + value + "`");
    }

    private static Mistake file(String mistake, String key, String value, String shown) {
        Map<String, String> set = new LinkedHashMap<>();
        set.put(key, value);
        return new Mistake(mistake, set, Map.of(), shown);
    }
}
