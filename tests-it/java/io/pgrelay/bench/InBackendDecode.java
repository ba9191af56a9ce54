package io.pgrelay.bench;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;

/**
 * Logical decoding inside a backend, {@code pg_logical_slot_get_binary_changes} with pgoutput: the
 * decoding cost alone, no network, no apply — the ceiling for any pgoutput consumer. Checked by
 * counting the change and commit messages it returned.
 */
final class InBackendDecode implements CatchUpConsumer {

    private static final int INSERT = 'I';
    private static final int UPDATE = 'U';
    private static final int DELETE = 'D';
    private static final int COMMIT = 'C';

    private final Stage stage;
    private final String slot;

    InBackendDecode(Stage stage) {
        this.stage = stage;
        this.slot = stage.name(ConsumerKind.DECODE.id());
    }

    @Override
    public String label() {
        return ConsumerKind.DECODE.label();
    }

    @Override
    public void prepare() throws Exception {
        Slots.createPgoutput(stage.root(), stage.rootDb(), slot);
    }

    @Override
    public Outcome catchUp(Backlog backlog) throws Exception {
        String sql = "SELECT count(*) FILTER (WHERE get_byte(data, 0) IN (" + INSERT + ", " + UPDATE + ", " + DELETE
                + ")), count(*) FILTER (WHERE get_byte(data, 0) = " + COMMIT + ")"
                + " FROM pg_logical_slot_get_binary_changes('" + slot + "', '" + backlog.endLsn() + "', NULL,"
                + " 'proto_version', '1', 'publication_names', '" + Stage.PUBLICATION + "')";
        long start = System.nanoTime();
        long changes;
        long commits;
        try (Connection c = stage.root().connect(stage.rootDb()); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            changes = rs.getLong(1);
            commits = rs.getLong(2);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long wantChanges = backlog.rows() + 1; // and the end marker's insert
        long wantCommits = backlog.transactions() + 1;
        if (changes != wantChanges || commits != wantCommits) {
            throw new IllegalStateException("decoded " + changes + " changes in " + commits + " commits, expected "
                    + wantChanges + " in " + wantCommits);
        }
        return Outcome.of(seconds);
    }

    @Override
    public void cleanup() {
        CatchUpConsumer.quietly(label(), () -> Slots.drop(stage.root(), stage.rootDb(), slot));
    }
}
