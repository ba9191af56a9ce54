package io.pgrelay.apply;

import io.pgrelay.decode.PgOutputDecoder;
import io.pgrelay.decode.PgOutputMessage;
import io.pgrelay.decode.PgOutputMessage.Begin;
import io.pgrelay.decode.PgOutputMessage.Commit;
import io.pgrelay.decode.PgOutputMessage.Delete;
import io.pgrelay.decode.PgOutputMessage.Insert;
import io.pgrelay.decode.PgOutputMessage.Relation;
import io.pgrelay.decode.PgOutputMessage.Truncate;
import io.pgrelay.decode.PgOutputMessage.Update;
import io.pgrelay.it.PgCluster;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.postgresql.replication.LogSequenceNumber;

/**
 * The oracle's view of the root: a logical slot of the test's own (pgoutput, the relay's
 * publication), made before the workload, read at the end without consuming it. Decoded with
 * the project's {@link PgOutputDecoder}, it maps each {@code txlog} id to the end LSN of the
 * Commit of the transaction that inserted it, the position a relay's checkpoint is compared
 * with. The slot retains WAL: {@link #close()} drops it.
 */
final class TxlogCommits implements AutoCloseable {

    private static final String PEEK_SQL = "SELECT data FROM pg_logical_slot_peek_binary_changes(?, NULL, NULL,"
            + " 'proto_version', '1', 'publication_names', ?)";

    private final PgCluster root;
    private final String db;
    private final String slot;
    private final String publication;

    private TxlogCommits(PgCluster root, String db, String slot, String publication) {
        this.root = root;
        this.db = db;
        this.slot = slot;
        this.publication = publication;
    }

    /** Creates the slot now: every transaction that commits after this is in it. */
    static TxlogCommits createSlot(PgCluster root, String db, String slot, String publication) throws SQLException {
        root.execute(db, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        return new TxlogCommits(root, db, slot, publication);
    }

    /** txlog id → end LSN of its transaction's Commit, for every transaction since the slot was made. */
    Map<Long, LogSequenceNumber> read() throws SQLException {
        Decoding decoding = new Decoding();
        try (Connection connection = root.connect(db); PreparedStatement peek = connection.prepareStatement(PEEK_SQL)) {
            connection.setAutoCommit(false); // so the driver fetches in chunks instead of all at once
            peek.setFetchSize(2000);
            peek.setString(1, slot);
            peek.setString(2, publication);
            PgOutputDecoder decoder = new PgOutputDecoder();
            try (ResultSet rs = peek.executeQuery()) {
                while (rs.next()) {
                    decoding.accept(decoder.decode(ByteBuffer.wrap(rs.getBytes(1))));
                }
            }
            connection.commit();
        }
        return decoding.commits;
    }

    @Override
    public void close() throws SQLException {
        root.execute(db, "SELECT pg_drop_replication_slot('" + slot + "')");
    }

    /** Walks the messages in order: Begin, the txlog inserts, Commit. */
    private static final class Decoding {
        private final Map<Integer, String> relations = new HashMap<>();
        private final Map<Long, LogSequenceNumber> commits = new HashMap<>();
        private final List<Long> open = new ArrayList<>();
        private Begin begin;

        void accept(PgOutputMessage message) {
            if (message instanceof Begin b) {
                require(begin == null, "Begin inside an open transaction");
                begin = b;
                open.clear();
            } else if (message instanceof Relation r) {
                relations.put(r.relationId(), r.namespace() + "." + r.name());
            } else if (message instanceof Insert i) {
                if (isTxlog(i.relationId())) {
                    open.add(Long.parseLong(i.newTuple().text(0)));
                }
            } else if (message instanceof Update u) {
                require(!isTxlog(u.relationId()), "txlog is insert-only, saw an Update");
            } else if (message instanceof Delete d) {
                require(!isTxlog(d.relationId()), "txlog is insert-only, saw a Delete");
            } else if (message instanceof Truncate t) {
                require(t.relationIds().stream().noneMatch(this::isTxlog), "txlog was truncated");
            } else if (message instanceof Commit c) {
                require(begin != null, "Commit without Begin");
                require(begin.finalLsn().equals(c.commitLsn()), "Begin's final LSN " + begin.finalLsn()
                        + " is not its Commit's LSN " + c.commitLsn());
                for (Long id : open) {
                    require(commits.put(id, c.endLsn()) == null, "txlog id " + id + " inserted twice");
                }
                begin = null;
            }
        }

        private boolean isTxlog(int relationId) {
            return "public.txlog".equals(relations.get(relationId));
        }

        private static void require(boolean condition, String what) {
            if (!condition) {
                throw new AssertionError("test slot: " + what);
            }
        }
    }
}
