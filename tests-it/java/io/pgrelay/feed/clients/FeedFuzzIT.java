package io.pgrelay.feed.clients;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.pgrelay.decode.PgOutputMessage;
import io.pgrelay.fuzz.Fuzz;
import io.pgrelay.fuzz.FuzzClient;
import io.pgrelay.fuzz.Mutator;
import io.pgrelay.fuzz.RecordingProxy;
import io.pgrelay.fuzz.WireFrames;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.PGConnection;
import org.slf4j.LoggerFactory;

/**
 * Hostile clients against a running relay's feed. The seeds are real sessions, recorded through a
 * proxy: pgjdbc's replication API and PostgreSQL's pg_recvlogical creating a slot, streaming and
 * confirming. Their mutations (flipped and hostile bytes, truncation, splices, oversize lengths,
 * garbage inside CopyData, broken startup packets, reordered messages) are thrown at the feed from
 * four threads while the root keeps committing and a healthy pgjdbc client streams. Each hostile
 * session must end on its own error path, the healthy client must receive every transaction, the
 * relay must stay up, apply must go on, and the feed must still accept clients.
 */
@Timeout(300)
class FeedFuzzIT {

    private static final int THREADS = 4;

    @Test
    void mutatedRealClientSessionsNeverHurtTheFeedOrOtherClients() throws Exception {
        List<Throwable> uncaught = new CopyOnWriteArrayList<>();
        Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((thread, e) -> uncaught.add(new AssertionError(thread.getName() + " died", e)));
        try (FeedFixture fixture = FeedFixture.start("fuzz", Map.of("feed.auth", "trust", "feed.max-connections", "64"))) {
            List<List<byte[]>> seeds = recordRealSessions(fixture);
            Logger feedLog = (Logger) LoggerFactory.getLogger("io.pgrelay.feed");
            ListAppender<ILoggingEvent> logged = new ListAppender<>();
            logged.start();
            Level level = feedLog.getLevel();
            feedLog.setLevel(Level.WARN); // thousands of refused sessions: keep the build log readable
            feedLog.addAppender(logged);
            try {
                fuzz(fixture, seeds, logged, uncaught);
            } finally {
                feedLog.detachAppender(logged);
                feedLog.setLevel(level);
            }
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(previous);
        }
    }

    /** pgjdbc and pg_recvlogical sessions as the bytes they sent, split into frames. */
    private static List<List<byte[]>> recordRealSessions(FeedFixture fixture) throws Exception {
        try (RecordingProxy proxy = new RecordingProxy(fixture.feedPort)) {
            String url = "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + FeedFixture.DB;
            try (Connection c = DriverManager.getConnection(url, StreamCollector.replicationProperties(FeedFixture.FEED_USER, "unused"))) {
                c.unwrap(PGConnection.class).getReplicationAPI().createReplicationSlot().logical()
                        .withSlotName("fuzz_jdbc").withOutputPlugin("pgoutput").make();
            }
            fixture.root.execute(FeedFixture.DB, "INSERT INTO notes (body) VALUES ('recorded')");
            Connection stream = DriverManager.getConnection(url, StreamCollector.replicationProperties(FeedFixture.FEED_USER, "unused"));
            try (StreamCollector jdbc = StreamCollector.start(stream, fixture.publication, "fuzz_jdbc", true)) {
                jdbc.awaitInsertedText(0, "recorded", Duration.ofSeconds(30));
                jdbc.requestKeepalive();
            }
            Path recvlogical = PgRecvlogicalIT.findPgRecvlogical();
            if (recvlogical != null) {
                String conn = "host=127.0.0.1 port=" + proxy.port() + " dbname=" + FeedFixture.DB + " user=" + FeedFixture.FEED_USER
                        + " sslmode=disable";
                run(recvlogical.toString(), "-d", conn, "--slot", "fuzz_recv", "--create-slot", "-P", "pgoutput");
                String endpos = fixture.rootFlushLsn().asString();
                run(recvlogical.toString(), "-d", conn, "--slot", "fuzz_recv", "--start", "--no-loop", "-o", "proto_version=1",
                        "-o", "publication_names=" + fixture.publication, "--endpos", endpos, "-f", "/dev/null");
            }
            List<List<byte[]>> sessions = new ArrayList<>();
            for (byte[] session : proxy.recorded()) {
                sessions.add(WireFrames.split(session));
            }
            System.out.printf("fuzz feed (relay): %d real client sessions recorded as seeds (%s), %d frames%n", sessions.size(),
                    recvlogical == null ? "pgjdbc only: pg_recvlogical is not installed" : "pgjdbc and pg_recvlogical",
                    sessions.stream().mapToInt(List::size).sum());
            assertTrue(sessions.size() >= 2, "no sessions recorded");
            return sessions;
        }
    }

    private static void run(String... command) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        builder.environment().keySet().removeIf(name -> name.startsWith("PG"));
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes());
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), String.join(" ", command) + " hung");
        assertEquals(0, process.exitValue(), String.join(" ", command) + ": " + output);
    }

    private static void fuzz(FeedFixture fixture, List<List<byte[]>> seeds, ListAppender<ILoggingEvent> logged,
                             List<Throwable> uncaught) throws Exception {
        StreamCollector.createSlot(fixture, "healthy");
        long heapBefore = usedHeapAfterGc();
        List<byte[]> allFrames = seeds.stream().flatMap(List::stream).toList();
        int iterations = Fuzz.iterations(15_000);
        AtomicInteger executed = new AtomicInteger();
        AtomicInteger hung = new AtomicInteger();
        AtomicBoolean done = new AtomicBoolean();
        Set<String> written = new TreeSet<>();
        long started = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try (StreamCollector healthy = StreamCollector.start(fixture, "healthy", true);
             Connection root = fixture.root.connect(FeedFixture.DB);
             Statement insert = root.createStatement()) {
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                Random random = new Random(Fuzz.seed() + t);
                workers.add(pool.submit(() -> {
                    Mutator mutator = new Mutator(random);
                    for (int i = 0; i < iterations / THREADS; i++) {
                        byte[] input = mutator.mutateSession(seeds.get(random.nextInt(seeds.size())), allFrames);
                        if (!FuzzClient.exchange(fixture.feedPort, input, 30_000)) {
                            hung.incrementAndGet();
                            System.out.println("fuzz: feed session did not end: " + Fuzz.hex(input));
                        }
                        executed.incrementAndGet();
                    }
                    return null;
                }));
            }
            int n = 0;
            while (workers.stream().anyMatch(f -> !f.isDone())) {
                String body = "healthy-" + n++;
                insert.execute("INSERT INTO notes (body) VALUES ('" + body + "')");
                written.add(body);
                Thread.sleep(25);
            }
            for (Future<?> worker : workers) {
                worker.get();
            }
            done.set(true);
            for (String body : written) {
                healthy.awaitInsertedText(0, body, Duration.ofSeconds(30));
            }
            healthy.assertHealthy();
            Set<String> received = new TreeSet<>();
            for (Msg m : healthy.messages()) {
                if (m.message() instanceof PgOutputMessage.Insert i && i.newTuple().text(1) != null
                        && i.newTuple().text(1).startsWith("healthy-")) {
                    assertTrue(received.add(i.newTuple().text(1)), "delivered twice: " + i.newTuple().text(1));
                }
            }
            assertEquals(written, received, "the healthy client's transactions");
        } finally {
            pool.shutdownNow();
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        Fuzz.report("feed sessions (running relay)", executed.get(), String.format("%.0f s, %d transactions committed on the root "
                + "and streamed to a healthy pgjdbc client meanwhile", seconds, written.size()));
        assertEquals(List.of(), uncaught, "exceptions reached the uncaught-exception handler");
        List<String> internal = logged.list.stream()
                .filter(e -> e.getLevel() == Level.WARN && e.getFormattedMessage().contains("feed session for"))
                .map(ILoggingEvent::getFormattedMessage).distinct().limit(10).toList();
        assertEquals(List.of(), internal, "sessions ended by an internal error instead of their protocol error path");
        assertEquals(0, hung.get(), "hostile sessions the feed did not end after their client closed");
        fixture.assertRelayAlive();
        try (Connection c = StreamCollector.connect(fixture); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("IDENTIFY_SYSTEM")) {
            assertTrue(rs.next(), "the feed must still answer IDENTIFY_SYSTEM");
        }
        fixture.awaitDownstreamEqualsRoot(Duration.ofSeconds(60));
        long growth = usedHeapAfterGc() - heapBefore;
        System.out.printf("fuzz feed (relay): heap after GC grew by %d kB over the run%n", growth / 1024);
        assertTrue(growth < 32L << 20, "heap grew by " + growth + " bytes: something retains ended sessions");
    }

    private static long usedHeapAfterGc() {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
