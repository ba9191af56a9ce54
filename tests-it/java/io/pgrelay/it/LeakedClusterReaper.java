package io.pgrelay.it;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Stops clusters a test forgot to close, or could not close because it was aborted, when the JVM
 * exits. Hard JVM deaths, which skip shutdown hooks, are covered by the orphan guard of
 * {@link io.pgrelay.embedded.PostgresServer}.
 */
final class LeakedClusterReaper {

    private static final Set<PgCluster> OPEN = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(LeakedClusterReaper::reapAll, "pgrelay-pg-reaper"));
    }

    private LeakedClusterReaper() {
    }

    static void track(PgCluster cluster) {
        OPEN.add(cluster);
    }

    static void untrack(PgCluster cluster) {
        OPEN.remove(cluster);
    }

    private static void reapAll() {
        for (PgCluster cluster : OPEN) {
            cluster.abandon();
        }
    }
}
