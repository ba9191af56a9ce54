package io.pgrelay.apply;

import io.pgrelay.apply.CommitOrder.AbortedException;
import io.pgrelay.decode.PgOutputMessage;
import io.pgrelay.decode.PgOutputMessage.Commit;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One lane of parallel apply: a thread ({@code pgrelay-apply-N}) that owns one downstream
 * connection through its {@link ChangeApplier} and applies the units the dispatcher hands it,
 * one at a time: wait for the units it conflicts with, apply, wait for its turn, commit with the
 * checkpoint.
 *
 * <p>The Relation and Type messages of the session are one shared, append-only list; the lane
 * applies its new entries before a unit that needs them, after the unit's conflicts committed
 * (a changed relation is a barrier, so no lane still holds rows of the old shape then).
 *
 * <p>On any failure the lane rolls back what it has not committed and reports the failure to
 * the {@link CommitOrder}, which stops every other lane; committed units stay (each is a prefix
 * of the upstream's order with its checkpoint).
 */
final class ApplyLane implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(ApplyLane.class);
    private static final long POLL_MILLIS = 50;

    private final ChangeApplier applier;
    private final ApplyListener listener;
    private final CommitOrder order;
    private final List<PgOutputMessage> catalog;
    private final BlockingQueue<ApplyUnit> inbox = new ArrayBlockingQueue<>(1);
    private int catalogApplied;

    ApplyLane(ChangeApplier applier, CommitOrder order, List<PgOutputMessage> catalog, ApplyListener listener) {
        this.applier = applier;
        this.listener = listener;
        this.order = order;
        this.catalog = catalog;
    }

    /** Hands the lane its next unit; only when its previous one has committed. */
    void assign(ApplyUnit unit) {
        if (!inbox.offer(unit)) {
            throw new IllegalStateException("lane given a unit while it still holds one");
        }
    }

    ChangeApplier applier() {
        return applier;
    }

    @Override
    public void run() {
        try {
            while (true) {
                ApplyUnit unit = inbox.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
                if (unit != null) {
                    apply(unit);
                } else if (order.isAborted()) {
                    return;
                }
            }
        } catch (AbortedException | InterruptedException e) {
            rollbackQuietly();
        } catch (Throwable t) {
            rollbackQuietly();
            order.fail(classify(t));
        }
    }

    private void apply(ApplyUnit unit) throws SQLException, AbortedException, InterruptedException {
        order.awaitCommitted(unit.waitFor());
        int catalogBefore = catalogApplied;
        catalogUpTo(unit.catalogEnd());
        if (unit.isStreamed()) {
            applyStream(unit.stream()); // a barrier: nothing runs beside it, so it never yields
            order.awaitCommitted(unit.seq() - 1);
        } else {
            if (!applyBeforeItsTurn(unit)) {
                listener.unitReapplied("refused");
                applier.rollback();
                order.awaitCommitted(unit.seq() - 1);
                catalogApplied = catalogBefore;
                catalogUpTo(unit.catalogEnd());
                applyMessages(unit); // now as serial apply would: a failure is the data's
            }
            while (!order.awaitTurn(unit.seq())) {
                // It holds a lock an earlier unit waits for (a dependency the keys did not show):
                // roll back, let the earlier ones commit, apply again. Relation and Type messages
                // apply again too: a drift fix (ADD COLUMN) was rolled back with the rest.
                log.debug("unit {} held a lock an earlier unit needed: rolled back, applying it again after the earlier units",
                        unit.seq());
                listener.unitReapplied("yielded");
                applier.rollback();
                order.awaitCommitted(unit.seq() - 1);
                catalogApplied = catalogBefore;
                catalogUpTo(unit.catalogEnd());
                applyMessages(unit);
            }
        }
        order.committed(unit.seq(), applier.commitGroup());
    }

    /**
     * Applies the unit while earlier units may still be open. False when the downstream refused
     * something or a lock wait ended in a deadlock while an earlier unit was uncommitted: the
     * refusal may come from that order (a constraint the keys did not show, such as a unique
     * index created after the session started), so the unit applies again once it is the oldest.
     */
    private boolean applyBeforeItsTurn(ApplyUnit unit) throws SQLException {
        // Read before: an earlier unit that commits while this one fails still made it fail.
        boolean earlierOpen = order.committed() < unit.seq() - 1;
        try {
            applyMessages(unit);
            return true;
        } catch (ApplyException | SQLException e) {
            // Every ApplyException (a conflict too: an update that finds no row yet) may be the order's.
            String state = e instanceof ApplyException refused ? refused.sqlState() : ((SQLException) e).getSQLState();
            boolean orderMayMatter = e instanceof ApplyException || SqlStates.isAboutTheData(state)
                    || "40P01".equals(state) || "55P03".equals(state);
            if (!orderMayMatter || !earlierOpen) {
                throw e;
            }
            log.debug("unit {} was refused ({}) while earlier units were open: applying it again after them",
                    unit.seq(), state);
            return false;
        }
    }

    private void applyMessages(ApplyUnit unit) throws SQLException {
        for (Object item : unit.messages()) {
            applyItem(item);
        }
    }

    /** The downstream backend's process id, to see which lane waits for which. */
    int backendPid() throws SQLException {
        return applier.backendPid();
    }

    /** A transaction too large to buffer: applied as it arrives, up to its Commit. */
    private void applyStream(BlockingQueue<Object> stream) throws SQLException, AbortedException, InterruptedException {
        while (true) {
            Object item = stream.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
            if (item == null) {
                if (order.isAborted()) {
                    throw new AbortedException();
                }
            } else {
                for (Object message : (List<?>) item) {
                    if (applyItem(message)) {
                        return;
                    }
                }
            }
        }
    }

    /** A message or a catalog mark; true after a Commit. */
    private boolean applyItem(Object item) throws SQLException {
        if (item instanceof ApplyUnit.CatalogUpTo upTo) {
            catalogUpTo(upTo.end());
            return false;
        }
        PgOutputMessage message = (PgOutputMessage) item;
        applier.apply(message);
        return message instanceof Commit;
    }

    private void catalogUpTo(int end) throws SQLException {
        for (; catalogApplied < end; catalogApplied++) {
            applier.apply(catalog.get(catalogApplied));
        }
    }

    /** As the serial path does: a failure on a dead connection is a lost connection, whatever pgjdbc threw. */
    private Throwable classify(Throwable failure) {
        if (failure instanceof ApplyException || applier.isConnectionValid()) {
            return failure;
        }
        return new SQLException("downstream connection lost: " + failure.getMessage(), "08006", failure);
    }

    private void rollbackQuietly() {
        try {
            applier.rollback();
        } catch (SQLException | RuntimeException e) {
            log.debug("rollback of a parallel apply lane failed: {}", e.getMessage());
        }
    }
}
