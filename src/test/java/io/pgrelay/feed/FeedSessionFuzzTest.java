package io.pgrelay.feed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.pgrelay.changelog.Changelog;
import io.pgrelay.changelog.ChangelogOptions;
import io.pgrelay.feed.wire.ScramServer;
import io.pgrelay.fuzz.ClientSessions;
import io.pgrelay.fuzz.Fuzz;
import io.pgrelay.fuzz.FuzzClient;
import io.pgrelay.fuzz.Mutator;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Mutated client sessions (startup, SSLRequest, SCRAM, commands, CopyData) against two in-process
 * feed servers, one trusting loopback and one asking for SCRAM, while a healthy client streams a
 * slot and transactions keep arriving in the changelog. Every hostile session must end through
 * the session's own error path (nothing uncaught, no internal error), the healthy client must
 * receive every transaction, and the feed must still accept clients afterwards.
 */
@Timeout(180)
class FeedSessionFuzzTest {

    private static final int THREADS = 4;
    private final List<Throwable> uncaught = new CopyOnWriteArrayList<>();

    @Test
    void hostileSessionsEndAloneWhileAHealthyClientReceivesEverything(@TempDir Path dir) throws Exception {
        Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((thread, e) -> uncaught.add(new AssertionError(thread.getName() + " died", e)));
        Logger feedLog = (Logger) LoggerFactory.getLogger("io.pgrelay.feed");
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        logged.start();
        Level level = feedLog.getLevel();
        feedLog.setLevel(Level.WARN); // thousands of refused sessions: keep the build log readable
        feedLog.addAppender(logged);
        try (Changelog changelog = Changelog.open(dir.resolve("changelog"), ChangelogOptions.defaults())) {
            FeedSlots slots = FeedSlots.open(dir);
            slots.create("s", 0, false);
            slots.create("healthy", 0, false);
            FeedServer trusting = FeedServer.start(context(changelog, slots, null, true), loopback(), 64);
            FeedServer scram = FeedServer.start(context(changelog, slots, ScramServer.Credentials.fromPassword("pw"), false),
                    loopback(), 64);
            try {
                run(changelog, trusting, scram, logged);
            } finally {
                trusting.close();
                scram.close();
            }
        } finally {
            feedLog.detachAppender(logged);
            feedLog.setLevel(level);
            Thread.setDefaultUncaughtExceptionHandler(previous);
        }
    }

    private void run(Changelog changelog, FeedServer trusting, FeedServer scram, ListAppender<ILoggingEvent> logged) throws Exception {
        long heapBefore = usedHeapAfterGc();
        HealthyClient healthy = new HealthyClient(trusting.port());
        Thread healthyThread = new Thread(healthy, "healthy-client");
        healthyThread.start();
        List<Long> commits = new ArrayList<>();
        long[] lsn = {0x1000_0000L};
        appendTransaction(changelog, lsn, commits, true);

        int iterations = Fuzz.iterations(2_000);
        AtomicInteger executed = new AtomicInteger();
        AtomicInteger hung = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        List<Future<?>> workers = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            Random random = new Random(Fuzz.seed() + t);
            workers.add(pool.submit(() -> {
                fuzz(random, iterations / THREADS, trusting.port(), scram.port(), executed, hung);
                return null;
            }));
        }
        while (workers.stream().anyMatch(f -> !f.isDone())) {
            appendTransaction(changelog, lsn, commits, false); // the healthy client must keep up throughout
            Thread.sleep(20);
        }
        pool.shutdown();
        for (Future<?> worker : workers) {
            worker.get();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!healthy.received.containsAll(commits) && System.nanoTime() < deadline && healthy.failure == null) {
            Thread.sleep(50);
        }
        healthy.stop();
        healthyThread.join(10_000);

        Fuzz.report("feed sessions (in-process)", executed.get(), commits.size() + " transactions streamed to a healthy client meanwhile");
        assertEquals(List.of(), uncaught, "exceptions reached the uncaught-exception handler");
        List<String> internal = logged.list.stream()
                .filter(e -> e.getLevel() == Level.WARN && e.getFormattedMessage().contains("feed session for"))
                .map(ILoggingEvent::getFormattedMessage).distinct().limit(10).toList();
        assertEquals(List.of(), internal, "sessions ended by an internal error instead of their protocol error path");
        assertEquals(0, hung.get(), "sessions did not end after their client closed");
        assertTrue(healthy.received.containsAll(commits), "the healthy client missed transactions: got " + healthy.received.size()
                + " of " + commits.size() + (healthy.failure == null ? "" : ", failed: " + healthy.failure));
        awaitSessions(trusting, 0);
        awaitSessions(scram, 0);
        assertEquals("IDENTIFY_SYSTEM", identifySystem(trusting.port()), "the feed must still accept clients");
        long growth = usedHeapAfterGc() - heapBefore;
        System.out.printf("fuzz feed sessions: heap after GC grew by %d kB%n", growth / 1024);
        // Before the fix, every failed handshake left its session (64 kB buffers) queued in the feed timer for
        // a minute: 2,000 hostile sessions kept 75 MB alive.
        assertTrue(growth < 16L << 20, "heap grew by " + growth + " bytes over the run: something retains ended sessions");
    }

    private static void fuzz(Random random, int count, int trustingPort, int scramPort, AtomicInteger executed, AtomicInteger hung) {
        Mutator mutator = new Mutator(random);
        List<List<byte[]>> trusted = ClientSessions.trusted("u", "s", "pub");
        List<byte[]> scramSession = ClientSessions.scram("u");
        List<byte[]> all = new ArrayList<>();
        trusted.forEach(all::addAll);
        all.addAll(scramSession);
        for (int i = 0; i < count; i++) {
            boolean toScram = random.nextInt(4) == 0;
            List<byte[]> seed = toScram ? scramSession : trusted.get(random.nextInt(trusted.size()));
            byte[] input = mutator.mutateSession(seed, all);
            if (!FuzzClient.exchange(toScram ? scramPort : trustingPort, input, 15_000)) {
                hung.incrementAndGet();
                System.out.println("fuzz: session did not end: " + Fuzz.hex(input));
            }
            executed.incrementAndGet();
        }
    }

    private static void appendTransaction(Changelog changelog, long[] lsn, List<Long> commits, boolean first) throws IOException {
        long begin = lsn[0];
        long commit = begin + 0x100;
        changelog.append(begin, ChangelogTapTest.begin(commit));
        if (first) {
            changelog.append(begin + 1, ChangelogTapTest.relation(1));
        }
        changelog.append(begin + 2, ChangelogTapTest.insert(1));
        changelog.append(commit + 0x10, ChangelogTapTest.commit(commit, commit + 0x10));
        changelog.sync();
        commits.add(commit + 0x10);
        lsn[0] = commit + 0x100;
    }

    private static FeedContext context(Changelog changelog, FeedSlots slots, ScramServer.Credentials credentials, boolean trust) {
        return new FeedContext("u", credentials, trust, null, "db", Set.of("pub"), () -> new SystemIdentity("1", 1), slots,
                changelog, changelog::endLsn, Duration.ofSeconds(30), 1 << 20, null);
    }

    private static InetSocketAddress loopback() {
        return new InetSocketAddress("127.0.0.1", 0);
    }

    private static void awaitSessions(FeedServer server, int expected) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.sessionCount() != expected && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(expected, server.sessionCount(), "sessions left behind");
    }

    private static long usedHeapAfterGc() {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** A fresh valid session: returns the CommandComplete tag of IDENTIFY_SYSTEM. */
    private static String identifySystem(int port) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            out.write(ClientSessions.pgjdbcStartup("u"));
            out.write(ClientSessions.query("IDENTIFY_SYSTEM"));
            out.flush();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            while (true) {
                int type = in.readUnsignedByte();
                byte[] body = new byte[in.readInt() - 4];
                in.readFully(body);
                if (type == 'E') {
                    return "error: " + new String(body, java.nio.charset.StandardCharsets.UTF_8);
                }
                if (type == 'C') {
                    return new String(body, 0, body.length - 1, java.nio.charset.StandardCharsets.UTF_8);
                }
            }
        }
    }

    /** Streams slot "healthy" and collects the end LSN of every commit it receives. */
    private static final class HealthyClient implements Runnable {
        final Set<Long> received = ConcurrentHashMap.newKeySet();
        private final int port;
        private volatile Socket socket;
        private volatile boolean stopping;
        volatile Throwable failure;

        HealthyClient(int port) {
            this.port = port;
        }

        @Override
        public void run() {
            try (Socket s = new Socket("127.0.0.1", port)) {
                socket = s;
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                out.write(ClientSessions.pgjdbcStartup("u"));
                out.write(ClientSessions.query("START_REPLICATION SLOT healthy LOGICAL 0/0 (proto_version '1', publication_names 'pub')"));
                out.flush();
                DataInputStream in = new DataInputStream(s.getInputStream());
                while (!stopping) {
                    int type = in.readUnsignedByte();
                    byte[] body = new byte[in.readInt() - 4];
                    in.readFully(body);
                    if (type == 'E') {
                        throw new IOException("feed error: " + new String(body, java.nio.charset.StandardCharsets.UTF_8));
                    }
                    if (type == 'd' && body[0] == 'w' && body[25] == 'C') {
                        long end = ByteBuffer.wrap(body).getLong(25 + 10);
                        received.add(end);
                        out.write(ClientSessions.standby(end, false));
                        out.flush();
                    } else if (type == 'd' && body[0] == 'k') {
                        out.write(ClientSessions.standby(0, false));
                        out.flush();
                    }
                }
            } catch (IOException | RuntimeException e) {
                if (!stopping) {
                    failure = e;
                }
            }
        }

        void stop() throws IOException {
            stopping = true;
            Socket s = socket;
            if (s != null) {
                s.close();
            }
        }
    }
}
