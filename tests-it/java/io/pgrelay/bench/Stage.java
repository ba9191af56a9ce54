package io.pgrelay.bench;

import io.pgrelay.it.PgCluster;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where one part of the run happens: the clusters, the root database that holds the backlog and
 * its publication, the tables every side has, and a scratch directory.
 *
 * @param heartbeat whether the databases also have the lag part's {@value #HEARTBEAT_TABLE} table
 */
record Stage(BenchOptions options, Tools tools, PgCluster root, PgCluster down1, PgCluster down2, Workload workload,
             String rootDb, boolean heartbeat, Path work) {

    static final String PUBLICATION = "bench";
    static final String HEARTBEAT_TABLE = "heartbeat";

    /**
     * Statements that give a new database this stage's tables and initial rows. A downstream's
     * heartbeat table has one more column, {@code applied_at}, that replication leaves out, so it
     * takes its default: the downstream's clock when the row arrived.
     */
    List<String> setUp(boolean downstream) {
        List<String> all = new ArrayList<>(workload.setUp());
        if (heartbeat) {
            all.add("CREATE TABLE " + HEARTBEAT_TABLE + " (id int PRIMARY KEY,"
                    + " inserted_at timestamptz NOT NULL DEFAULT clock_timestamp()"
                    + (downstream ? ", applied_at timestamptz NOT NULL DEFAULT clock_timestamp()" : "") + ")");
        }
        return all;
    }

    /**
     * The publication that passes this stage's tables on: every table, but only the root's columns
     * of the heartbeat table (so each tier fills its own {@code applied_at}).
     */
    String publication() {
        if (!heartbeat) {
            return "CREATE PUBLICATION " + PUBLICATION + " FOR ALL TABLES";
        }
        List<String> tables = new ArrayList<>(workload.tables());
        tables.add(Workload.END_TABLE);
        tables.add(HEARTBEAT_TABLE + " (id, inserted_at)");
        return "CREATE PUBLICATION " + PUBLICATION + " FOR TABLE " + String.join(", ", tables);
    }

    /** The tables compared between the root and a downstream. */
    List<String> tables() {
        List<String> all = new ArrayList<>(workload.tables());
        if (heartbeat) {
            all.add(HEARTBEAT_TABLE);
        }
        return all;
    }

    /** Creates the root database with its tables, initial rows and the publication. */
    void createRoot() throws Exception {
        root.createDatabase(rootDb);
        root.execute(rootDb, setUp(false).toArray(String[]::new));
        root.execute(rootDb, publication());
    }

    /** Creates database {@code name} on {@code cluster} with this stage's tables and initial rows. */
    String createDownstream(PgCluster cluster, String name) throws Exception {
        cluster.createDatabase(name);
        cluster.execute(name, setUp(true).toArray(String[]::new));
        return name;
    }

    /** A libpq connection string, for CREATE SUBSCRIPTION. */
    static String connInfo(PgCluster cluster, String db) {
        return "host=" + cluster.host() + " port=" + cluster.port() + " dbname=" + db + " user=" + cluster.user()
                + " password=" + cluster.password();
    }

    /** A name unique within the run for something of this stage, e.g. a slot or a database. */
    String name(String what) {
        return (rootDb + "_" + what).replace('-', '_');
    }
}
