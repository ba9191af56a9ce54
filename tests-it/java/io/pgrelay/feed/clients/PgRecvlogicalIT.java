package io.pgrelay.feed.clients;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgrelay.it.ClientBinaries;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.replication.LogSequenceNumber;

/**
 * PostgreSQL's own {@code pg_recvlogical} (libpq, a C client that shares no code with pgrelay)
 * against a relay's feed: it creates a slot, streams to {@code --endpos} and exits by itself,
 * resumes where it left off, and drops the slot.
 *
 * <p>{@code pg_recvlogical} writes every XLogData payload followed by a newline, so its output
 * file must be byte for byte what the root's own pgoutput slot produces for the same
 * transactions, Relation and Type messages included.
 */
@Timeout(90)
class PgRecvlogicalIT {

    private static final Duration RUN_LIMIT = Duration.ofSeconds(60);
    private static Path binary;
    private static FeedFixture fixture;
    private static Path work;
    private final List<Process> processes = new CopyOnWriteArrayList<>();

    @BeforeAll
    @Timeout(90)
    static void start() throws Exception {
        binary = findPgRecvlogical();
        if (binary == null) {
            Assumptions.abort("pg_recvlogical is not installed (not on the PATH nor in "
                    + "/usr/lib/postgresql/*/bin): install the PostgreSQL client package (Debian: postgresql-client) to run "
                    + "PgRecvlogicalIT; CI does");
        }
        work = Files.createTempDirectory("pgrelay-recvlogical");
        fixture = FeedFixture.start("recvfeed", Map.of());
    }

    @AfterAll
    @Timeout(60)
    static void stop() throws Exception {
        try {
            if (fixture != null) {
                fixture.close();
            }
        } finally {
            if (work != null) {
                FeedFixture.deleteTree(work);
            }
        }
    }

    @AfterEach
    void killLeftovers() throws InterruptedException {
        for (Process p : processes) {
            if (p.isAlive()) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    static Path findPgRecvlogical() {
        return ClientBinaries.find("pg_recvlogical");
    }

    record Result(int exitCode, String output) {}

    /** Runs pg_recvlogical with a hard deadline; kills it and fails when it does not exit in time. */
    private Result recvlogicalWithPassword(String password, String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(binary.toString());
        command.add("-d");
        command.add("host=127.0.0.1 port=" + fixture.feedPort + " dbname=" + FeedFixture.DB + " user=" + FeedFixture.FEED_USER
                + " connect_timeout=10");
        command.addAll(List.of(args));
        Path log = Files.createTempFile(work, "recvlogical-", ".log");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        builder.environment().keySet().removeIf(name -> name.startsWith("PG"));
        builder.environment().put("PGPASSWORD", password);
        builder.environment().put("LC_ALL", "C");
        Process process = builder.start();
        processes.add(process);
        if (!process.waitFor(RUN_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
            fail(String.join(" ", command) + " did not exit within " + RUN_LIMIT.toSeconds() + " s:\n" + Files.readString(log));
        }
        return new Result(process.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    }

    private Result recvlogical(String... args) throws Exception {
        return recvlogicalWithPassword(FeedFixture.FEED_PASSWORD, args);
    }

    private static void assertExit0(Result result, String what) {
        assertEquals(0, result.exitCode(), what + " failed:\n" + result.output());
    }

    /** What pg_recvlogical must have written for these messages: each payload and a newline. */
    private static byte[] expectedFile(List<Msg> messages) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Msg m : messages) {
            out.writeBytes(m.raw());
            out.write('\n');
        }
        return out.toByteArray();
    }

    private Path streamToEndpos(String file, LogSequenceNumber endpos) throws Exception {
        Path out = work.resolve(file);
        Result result = recvlogical("--slot", "s1", "--start", "--no-loop", "-o", "proto_version=1",
                "-o", "publication_names=" + fixture.publication, "--endpos", endpos.asString(), "-f", out.toString());
        assertExit0(result, "pg_recvlogical --start --endpos " + endpos.asString());
        assertTrue(Files.exists(out), "pg_recvlogical wrote no file:\n" + result.output());
        return out;
    }

    private static void assertContainsAll(byte[] file, List<String> texts) {
        String content = new String(file, StandardCharsets.ISO_8859_1);
        for (String text : texts) {
            assertTrue(content.contains(text), "output file lacks the inserted value '" + text + "'");
        }
    }

    @Test
    void createStreamToEndposResumeAndDrop() throws Exception {
        fixture.quiesce(Duration.ofSeconds(30));
        assertExit0(recvlogical("--slot", "s1", "--create-slot", "--plugin", "pgoutput"), "pg_recvlogical --create-slot");
        Result again = recvlogical("--slot", "s1", "--create-slot", "--plugin", "pgoutput");
        assertNotEquals(0, again.exitCode(), "creating s1 twice must fail:\n" + again.output());
        assertTrue(again.output().contains("already exists"), again.output());
        fixture.createRootSlot("ref_recv");

        // First batch: every published table, the enum, updates and a delete, several transactions.
        fixture.root.execute(FeedFixture.DB,
                "INSERT INTO people VALUES (10, 'recv-alpha', 'happy')",
                "INSERT INTO notes (body) VALUES ('recv-beta'), ('recv-gamma')",
                "INSERT INTO counters VALUES ('recv-delta', 7)",
                "UPDATE people SET name = 'recv-epsilon', mood = 'ok' WHERE id = 10",
                "DELETE FROM notes WHERE body = 'recv-beta'");
        List<Msg> firstBatch = fixture.getRootSlot("ref_recv");
        assertEquals(5, Pgoutput.transactions(firstBatch).size(), "root decodes five transactions");
        LogSequenceNumber endpos1 = Pgoutput.lastCommit(firstBatch).endLsn();

        byte[] file1 = Files.readAllBytes(streamToEndpos("batch1.bin", endpos1));
        assertContainsAll(file1, List.of("recv-alpha", "recv-beta", "recv-gamma", "recv-delta", "recv-epsilon", "happy"));
        assertArrayEquals(expectedFile(firstBatch), file1,
                "pg_recvlogical's file must hold exactly the root's pgoutput messages, each followed by a newline ("
                        + firstBatch.size() + " messages, " + expectedFile(firstBatch).length + " bytes expected, "
                        + file1.length + " written)");

        // Second batch: a new run resumes after endpos1 (pg_recvlogical confirmed it), nothing repeated,
        // and this session describes the relations and the enum again.
        fixture.root.execute(FeedFixture.DB,
                "INSERT INTO notes (body) VALUES ('recv-zeta')",
                "INSERT INTO people VALUES (11, 'recv-eta', 'sad')");
        List<Msg> secondBatch = fixture.getRootSlot("ref_recv");
        assertEquals(2, Pgoutput.transactions(secondBatch).size());
        byte[] file2 = Files.readAllBytes(streamToEndpos("batch2.bin", Pgoutput.lastCommit(secondBatch).endLsn()));
        assertContainsAll(file2, List.of("recv-zeta", "recv-eta"));
        assertTrue(!new String(file2, StandardCharsets.ISO_8859_1).contains("recv-alpha"),
                "the second run repeated the first batch");
        assertArrayEquals(expectedFile(secondBatch), file2, "second run: the root's messages for the second batch only");

        // A publication the feed does not serve: a clear error, no endless retry (--no-loop).
        Result unknown = recvlogical("--slot", "s1", "--start", "--no-loop", "-o", "proto_version=1",
                "-o", "publication_names=nope", "-f", work.resolve("nope.bin").toString());
        assertNotEquals(0, unknown.exitCode(), unknown.output());
        assertTrue(unknown.output().contains("publication \"nope\" does not exist"), unknown.output());

        // A wrong password: libpq reports the server's refusal.
        Result denied = recvlogicalWithPassword("not-the-password", "--slot", "s1", "--start", "--no-loop", "-o", "proto_version=1",
                "-o", "publication_names=" + fixture.publication, "-f", work.resolve("denied.bin").toString());
        assertNotEquals(0, denied.exitCode(), denied.output());
        assertTrue(denied.output().contains("password authentication failed"), denied.output());

        assertExit0(recvlogical("--slot", "s1", "--drop-slot"), "pg_recvlogical --drop-slot");
        Result dropAgain = recvlogical("--slot", "s1", "--drop-slot");
        assertNotEquals(0, dropAgain.exitCode(), "dropping s1 twice must fail:\n" + dropAgain.output());
        assertTrue(dropAgain.output().contains("does not exist"), dropAgain.output());
        fixture.assertRelayAlive();
        fixture.root.execute(FeedFixture.DB, "SELECT pg_drop_replication_slot('ref_recv')");
    }
}
