package io.pgrelay.bench;

import io.pgrelay.it.PgCluster;
import java.sql.SQLException;
import java.util.List;

/**
 * PostgreSQL's own logical replication: a subscription on the downstream reading a slot made
 * beforehand, created disabled and timed from {@code ALTER SUBSCRIPTION … ENABLE}.
 */
final class NativeSubscription implements CatchUpConsumer {

    /** pg_subscription is shared by all databases of a cluster. */
    private static final String IN_THIS_DB =
            " WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())";

    private final Stage stage;
    private final ConsumerKind kind;
    private final String slot;
    private final String db;

    NativeSubscription(Stage stage, ConsumerKind kind) {
        this.stage = stage;
        this.kind = kind;
        this.slot = stage.name(kind.id());
        this.db = stage.name(kind.id());
    }

    @Override
    public String label() {
        return kind.label();
    }

    @Override
    public void prepare() throws Exception {
        Slots.createPgoutput(stage.root(), stage.rootDb(), slot);
        stage.createDownstream(stage.down1(), db);
        String options = kind == ConsumerKind.NATIVE_SYNC ? ", synchronous_commit = 'on'" : "";
        stage.down1().execute(db, create("s", Stage.connInfo(stage.root(), stage.rootDb()), slot, false, options));
    }

    static String create(String name, String connInfo, String slot, boolean enabled, String moreOptions) {
        return "CREATE SUBSCRIPTION " + name + " CONNECTION '" + connInfo + "' PUBLICATION " + Stage.PUBLICATION
                + " WITH (create_slot = false, slot_name = '" + slot + "', copy_data = false, enabled = " + enabled
                + moreOptions + ")";
    }

    @Override
    public Outcome catchUp(Backlog backlog) throws Exception {
        long start = System.nanoTime();
        long deadline = start + stage.options().timeout().toNanos();
        stage.down1().execute(db, "ALTER SUBSCRIPTION s ENABLE");
        long equal = Content.awaitEqual(stage.down1(), db, stage.tables(), backlog.expected(), backlog.marker(),
                deadline, () -> requireNoApplyErrors(stage.down1(), db));
        return Outcome.of((equal - start) / 1e9);
    }

    /** An apply worker that fails retries forever; the statistics say so at once. */
    static void requireNoApplyErrors(PgCluster cluster, String db) throws SQLException {
        List<List<String>> rows = cluster.query(db, "SELECT coalesce(sum(st.apply_error_count), 0)"
                + " FROM pg_stat_subscription_stats st JOIN pg_subscription s ON s.oid = st.subid" + IN_THIS_DB);
        if (!"0".equals(rows.get(0).get(0))) {
            throw new IllegalStateException("the apply worker on " + cluster.name() + "/" + db + " failed "
                    + rows.get(0).get(0) + " time(s); server log tail:\n" + cluster.serverLogTail());
        }
    }

    @Override
    public void cleanup() {
        CatchUpConsumer.quietly(label(),
                () -> drop(stage.down1(), db, "s"),
                () -> stage.down1().execute("postgres", "DROP DATABASE IF EXISTS " + db),
                () -> Slots.drop(stage.root(), stage.rootDb(), slot));
    }

    /** Drops subscription {@code name} in {@code db} but not its slot (the caller drops that). */
    static void drop(PgCluster cluster, String db, String name) throws SQLException {
        if (cluster.query(db, "SELECT 1 FROM pg_subscription s" + IN_THIS_DB + " AND s.subname = '" + name + "'")
                .isEmpty()) {
            return;
        }
        cluster.execute(db, "ALTER SUBSCRIPTION " + name + " DISABLE", "ALTER SUBSCRIPTION " + name
                + " SET (slot_name = NONE)", "DROP SUBSCRIPTION " + name);
    }
}
