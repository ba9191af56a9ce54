package io.pgrelay.it;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * PostgreSQL's client programs ({@code pg_recvlogical}, {@code pgbench}): the embedded server
 * binaries do not ship them, so they come from a local installation.
 */
public final class ClientBinaries {

    private static final Path DEBIAN_BASE = Path.of("/usr/lib/postgresql");

    private ClientBinaries() {
    }

    /**
     * {@code program} from the PATH, else from the newest {@code /usr/lib/postgresql/N/bin} (where
     * Debian installs them); null when neither has it.
     */
    public static Path find(String program) {
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(File.pathSeparator)) {
                Path candidate = Path.of(dir, program);
                if (!dir.isEmpty() && Files.isExecutable(candidate)) {
                    return candidate;
                }
            }
        }
        if (!Files.isDirectory(DEBIAN_BASE)) {
            return null;
        }
        try (Stream<Path> versions = Files.list(DEBIAN_BASE)) {
            return versions.map(v -> v.resolve("bin").resolve(program)).filter(Files::isExecutable)
                    .max(Comparator.comparing(p -> versionOf(p.getParent().getParent().getFileName().toString())))
                    .orElse(null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int versionOf(String name) {
        try {
            return Integer.parseInt(name);
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
