package io.pgrelay.embedded;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The operating-system account that runs initdb, pg_ctl and postgres.
 *
 * <p>PostgreSQL refuses to run as root. When this JVM is root (CI containers, a fresh machine),
 * the server commands are wrapped in {@code runuser} to drop to an unprivileged account —
 * {@code postgres} when it exists, else {@code nobody} — and the files the server must write are
 * handed to that account.
 */
public final class ServerUser {

    private static final Duration LOOKUP_TIMEOUT = Duration.ofSeconds(10);
    private static ServerUser current;

    /** Null when the JVM is not root and simply runs the binaries itself. */
    private final String switchTo;

    private ServerUser(String switchTo) {
        this.switchTo = switchTo;
    }

    public static synchronized ServerUser current() {
        if (current == null) {
            current = new ServerUser(jvmRunsAsRoot() ? unprivilegedAccount() : null);
        }
        return current;
    }

    /** True when the server runs as another account than the JVM's (the JVM is root). */
    public boolean switches() {
        return switchTo != null;
    }

    /** The account the server runs as. */
    public String name() {
        return switchTo == null ? System.getProperty("user.name") : switchTo;
    }

    /** The given command, run as this account. */
    public List<String> command(List<String> command) {
        if (switchTo == null) {
            return command;
        }
        List<String> wrapped = new ArrayList<>(List.of("runuser", "-u", switchTo, "--"));
        wrapped.addAll(command);
        return wrapped;
    }

    /** Makes this account the owner of a file or directory the JVM created. */
    public void takeOwnership(Path path) {
        if (switchTo == null) {
            return;
        }
        try {
            UserPrincipal owner = path.getFileSystem().getUserPrincipalLookupService()
                    .lookupPrincipalByName(switchTo);
            Files.setOwner(path, owner);
        } catch (IOException e) {
            throw new EmbeddedPostgresException("cannot give " + path + " to user " + switchTo + ": " + e, e);
        }
    }

    @Override
    public String toString() {
        return switchTo == null ? System.getProperty("user.name") : switchTo + " (via runuser)";
    }

    private static boolean jvmRunsAsRoot() {
        Commands.Result uid = Commands.run(List.of("id", "-u"), null, LOOKUP_TIMEOUT);
        if (uid.succeeded()) {
            return uid.output().strip().equals("0");
        }
        return "root".equals(System.getProperty("user.name"));
    }

    private static String unprivilegedAccount() {
        boolean postgresExists = Commands.run(List.of("id", "-u", "postgres"), null, LOOKUP_TIMEOUT).succeeded();
        return postgresExists ? "postgres" : "nobody";
    }
}
