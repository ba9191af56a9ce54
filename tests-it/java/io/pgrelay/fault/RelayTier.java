package io.pgrelay.fault;

import io.pgrelay.it.PgCluster;
import io.pgrelay.process.RelayProcess;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * One relay of the fault topology as a sequence of operating-system processes: each kill or
 * stop is followed by a new process on the same configuration, data directory and feed port.
 */
final class RelayTier {

    final String name;
    final Properties config;
    final Path runDir;
    final PgCluster downstream;
    final String db;
    final List<RelayProcess> processes = new ArrayList<>();
    /** Processes that exited by themselves while the fault run allowed it (disk full), with their codes. */
    final List<String> allowedExits = new ArrayList<>();
    private RelayProcess current;

    RelayTier(String name, Properties config, Path runDir, PgCluster downstream, String db) {
        this.name = name;
        this.config = config;
        this.runDir = runDir;
        this.downstream = downstream;
        this.db = db;
    }

    RelayProcess start() {
        current = RelayProcess.start(String.format("%s-%02d", name.toLowerCase(), processes.size()), runDir, config);
        processes.add(current);
        return current;
    }

    RelayProcess current() {
        return current;
    }

    /** The relay's slot name on its upstream, which is also its relay.name. */
    String slot() {
        return config.getProperty("upstream.slot");
    }

    void closeAll() throws InterruptedException {
        for (RelayProcess process : processes) {
            process.close();
        }
    }
}
