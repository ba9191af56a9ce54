package io.pgrelay.bench;

import io.pgrelay.it.ClientBinaries;
import io.pgrelay.process.RelayProcess;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The programs a run uses besides PostgreSQL servers; null where one is missing (its rows say
 * SKIPPED). {@code work} is the run's scratch directory.
 */
record Tools(Path jar, Path pgbench, Path pgRecvlogical, Path jcmd, Path work) {

    static Tools find(Path work) {
        Path jar = Path.of(System.getProperty(RelayProcess.JAR_PROPERTY, "target/pgrelay.jar")).toAbsolutePath();
        System.setProperty(RelayProcess.JAR_PROPERTY, jar.toString()); // where RelayProcess looks
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        return new Tools(Files.isRegularFile(jar) ? jar : null, ClientBinaries.find("pgbench"),
                ClientBinaries.find("pg_recvlogical"), Files.isExecutable(jcmd) ? jcmd : null, work);
    }

    String describe() {
        return "pgrelay jar " + orMissing(jar) + "; pgbench " + orMissing(pgbench) + "; pg_recvlogical "
                + orMissing(pgRecvlogical) + "; jcmd " + orMissing(jcmd);
    }

    private static String orMissing(Path path) {
        return path == null ? "(missing)" : path.toString();
    }
}
