package io.pgrelay.bench;

import java.util.List;
import java.util.Map;
import org.postgresql.replication.LogSequenceNumber;

/**
 * {@code pg_recvlogical} streaming the slot to {@code /dev/null} until the backlog's end LSN: what
 * the walsender can deliver to a client that does nothing with the changes. Checked by its exit
 * code and the slot's confirmed position afterwards.
 */
final class RecvlogicalConsumer implements CatchUpConsumer {

    private final Stage stage;
    private final String slot;

    RecvlogicalConsumer(Stage stage) {
        this.stage = stage;
        this.slot = stage.name(ConsumerKind.RECVLOGICAL.id());
    }

    @Override
    public String label() {
        return ConsumerKind.RECVLOGICAL.label();
    }

    @Override
    public void prepare() throws Exception {
        Slots.createPgoutput(stage.root(), stage.rootDb(), slot);
    }

    @Override
    public Outcome catchUp(Backlog backlog) throws Exception {
        List<String> command = List.of(stage.tools().pgRecvlogical().toString(),
                "-h", stage.root().host(), "-p", Integer.toString(stage.root().port()), "-U", stage.root().user(),
                "-d", stage.rootDb(), "--slot", slot, "--start", "--endpos", backlog.endLsn(), "--no-loop",
                "-o", "proto_version=1", "-o", "publication_names=" + Stage.PUBLICATION, "-F", "0", "-f", "/dev/null");
        long start = System.nanoTime();
        ProcessRun.Result result = ProcessRun.run(command, Map.of("PGPASSWORD", stage.root().password()),
                stage.options().timeout(), stage.work());
        double seconds = (System.nanoTime() - start) / 1e9;
        if (result.exitCode() != 0) {
            throw new IllegalStateException(result.toString());
        }
        String confirmed = Slots.confirmedFlush(stage.root(), stage.rootDb(), slot);
        if (confirmed == null || LogSequenceNumber.valueOf(confirmed).asLong()
                < LogSequenceNumber.valueOf(backlog.endLsn()).asLong()) {
            throw new IllegalStateException("pg_recvlogical exited 0 but its slot confirmed only " + confirmed
                    + ", not the backlog's end " + backlog.endLsn());
        }
        return Outcome.of(seconds);
    }

    @Override
    public void cleanup() {
        CatchUpConsumer.quietly(label(), () -> Slots.drop(stage.root(), stage.rootDb(), slot));
    }
}
