package io.pgrelay.it;

import io.pgrelay.embedded.Commands;
import io.pgrelay.embedded.EmbeddedPostgresException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A PostgreSQL installed on the machine: {@code PGRELAY_TEST_PG_BINDIR} if set, otherwise whatever
 * {@code pg_config --bindir} on the PATH reports.
 */
final class LocalPgBinaries {

    static final String BINDIR_SETTING = "PGRELAY_TEST_PG_BINDIR";

    private LocalPgBinaries() {
    }

    static Path binDir() {
        String explicit = TestSetting.get(BINDIR_SETTING);
        Path bin = explicit != null ? Path.of(explicit) : askPgConfig();
        for (String tool : List.of("initdb", "pg_ctl", "postgres")) {
            if (!Files.isExecutable(bin.resolve(tool))) {
                throw new PgClusterException(bin.resolve(tool) + " is missing or not executable; set "
                        + BINDIR_SETTING + " to the bin directory of a PostgreSQL installation");
            }
        }
        return bin.toAbsolutePath();
    }

    private static Path askPgConfig() {
        Commands.Result result;
        try {
            result = Commands.run(List.of("pg_config", "--bindir"), null, Duration.ofSeconds(10));
        } catch (EmbeddedPostgresException e) {
            throw new PgClusterException("no local PostgreSQL found: pg_config is not on the PATH; set "
                    + BINDIR_SETTING + " to the bin directory of a PostgreSQL installation", e);
        }
        if (!result.succeeded()) {
            throw new PgClusterException("no local PostgreSQL found: " + result.describe());
        }
        return Path.of(result.output().strip());
    }
}
