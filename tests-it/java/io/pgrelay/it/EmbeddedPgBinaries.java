package io.pgrelay.it;

import io.pgrelay.embedded.PostgresBinaries;
import io.pgrelay.embedded.ServerUser;
import java.nio.file.Path;
import java.util.List;

/**
 * The PostgreSQL binaries that ship inside pgrelay ({@link PostgresBinaries}), unpacked for the
 * tests into {@code target/embedded-postgres/VERSION} (cleaned with the project), or into the
 * temp directory when the server's account cannot reach the build directory.
 */
final class EmbeddedPgBinaries {

    private EmbeddedPgBinaries() {
    }

    /** The bin directory holding initdb, pg_ctl and postgres, unpacking the archive on first use. */
    static Path binDir(ServerUser user) {
        return BinaryPgServer.reported(() -> PostgresBinaries.prepare(cacheRoots(), user).binDir());
    }

    /** The Maven build dir first, the temp dir as a fallback. */
    private static List<Path> cacheRoots() {
        Path basedir = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
        return List.of(
                basedir.resolve("target").resolve("embedded-postgres").toAbsolutePath(),
                Path.of(System.getProperty("java.io.tmpdir"), "pgrelay-embedded-postgres").toAbsolutePath());
    }
}
