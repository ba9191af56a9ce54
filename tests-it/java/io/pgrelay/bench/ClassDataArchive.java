package io.pgrelay.bench;

import io.pgrelay.it.PgCluster;
import io.pgrelay.process.RelayProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The class-data archive that {@code bin/pgrelay run} keeps (README "Start-up"): the first run of
 * a relay writes it at exit, every later start maps it. The bench measures those later starts,
 * what a relay restarted by systemd does: before any part, one short relay run on a small
 * backlog of its own writes the archive, and every relay process of the run maps it (through
 * {@link RelayProcess#JVM_OPTIONS_PROPERTY}). {@code -Dbench.cds=false} measures without it.
 */
final class ClassDataArchive {

    private static final String DB = "cds_training";
    private static final int ROWS = 5_000;

    /** The JVM options relay processes had before {@link #trainAndUse}; null when not in use. */
    private static String before;

    private ClassDataArchive() {
    }

    /** Writes the archive with a training run and makes every later relay process map it. */
    static void trainAndUse(PgCluster root, PgCluster downstream, Path work) throws Exception {
        Path archive = work.resolve("pgrelay.jsa");
        root.createDatabase(DB);
        downstream.createDatabase(DB);
        try {
            for (PgCluster cluster : List.of(root, downstream)) {
                cluster.execute(DB, "CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL, n int NOT NULL)");
            }
            root.execute(DB, "CREATE PUBLICATION " + Stage.PUBLICATION + " FOR TABLE t");
            Slots.createPgoutput(root, DB, DB);
            root.execute(DB, "INSERT INTO t SELECT g, md5(g::text), g FROM generate_series(1, " + ROWS + ") g",
                    "UPDATE t SET n = n + 1 WHERE id % 10 = 0", "DELETE FROM t WHERE id % 100 = 0");
            Properties config = Pgrelay.config(DB, root.jdbcUrl(DB), root.user(), root.password(), downstream, DB,
                    Pgrelay.freePort(), Map.of());
            RelayProcess relay = RelayProcess.start("cds-training", work, config, Map.of(),
                    List.of("-XX:ArchiveClassesAtExit=" + archive, "-Xlog:cds*=off"));
            long deadline = System.nanoTime() + 60_000_000_000L;
            String expected = String.valueOf(ROWS - ROWS / 100);
            while (!expected.equals(downstream.query(DB, "SELECT count(*) FROM t").get(0).get(0))) {
                Pgrelay.requireAlive(relay);
                if (System.nanoTime() > deadline) {
                    relay.close();
                    throw new IllegalStateException("the class-data training relay did not catch up in 60 s");
                }
                Thread.sleep(50);
            }
            Pgrelay.stop(relay);
        } finally {
            Slots.drop(root, DB, DB);
            root.execute("postgres", "DROP DATABASE IF EXISTS " + DB);
            downstream.execute("postgres", "DROP DATABASE IF EXISTS " + DB);
        }
        if (!Files.isRegularFile(archive)) {
            throw new IllegalStateException("the training relay wrote no class-data archive at " + archive);
        }
        before = System.getProperty(RelayProcess.JVM_OPTIONS_PROPERTY, "");
        System.setProperty(RelayProcess.JVM_OPTIONS_PROPERTY, (before + " -XX:SharedArchiveFile=" + archive).trim());
    }

    /** Relay processes started from now on map no archive (the run's work directory goes away). */
    static void stopUsing() {
        if (before != null) {
            if (before.isEmpty()) {
                System.clearProperty(RelayProcess.JVM_OPTIONS_PROPERTY);
            } else {
                System.setProperty(RelayProcess.JVM_OPTIONS_PROPERTY, before);
            }
            before = null;
        }
    }
}
