package io.pgrelay.changelog;

import static io.pgrelay.changelog.Pg.append;
import static io.pgrelay.changelog.Pg.assertSameRecords;
import static io.pgrelay.changelog.Pg.read;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.changelog.Pg.Gen;
import io.pgrelay.changelog.Pg.Rec;
import io.pgrelay.changelog.Pg.Txn;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class ChangelogTailingTest {

    static final ChangelogOptions SMALL = Pg.SMALL_SEGMENTS;
    static final Duration SHORT = Duration.ofMillis(100);

    @TempDir
    Path dir;

    /** Runs on its own thread; any failure there fails the test through get(). */
    static <T> CompletableFuture<T> async(ThrowingSupplier<T> body) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(body.get());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, "test-reader");
        t.setDaemon(true);
        t.start();
        return f;
    }

    interface ThrowingSupplier<T> {
        T get() throws Exception;
    }

    @Test
    void aWaitingReaderWakesAsSoonAsTheWriterSyncs() throws Exception {
        Gen gen = new Gen();
        try (Changelog log = Changelog.open(dir, SMALL); ChangelogReader reader = log.openReader(0)) {
            for (int round = 0; round < 5; round++) {
                Txn t = gen.inserts(1, 50);
                CompletableFuture<Long> woke = async(() -> {
                    assertNotNull(reader.next(Duration.ofSeconds(20)));
                    return System.nanoTime();
                });
                Thread.sleep(200);
                assertTrue(!woke.isDone(), "the reader waits while there is nothing");
                append(log, t);
                assertTrue(!woke.isDone() || woke.isCompletedExceptionally(), "nothing before sync");
                long synced = System.nanoTime();
                log.sync();
                long wokeAt = woke.get(5, TimeUnit.SECONDS);
                long latencyMillis = TimeUnit.NANOSECONDS.toMillis(wokeAt - synced);
                assertTrue(latencyMillis < 1000, "woke " + latencyMillis + " ms after sync");
                read(reader, 2, Duration.ZERO);
            }
        }
    }

    @Test
    void readersSeeOnlyCompleteDurableTransactions() throws Exception {
        Gen gen = new Gen();
        Txn t1 = gen.inserts(2, 50);
        Txn t2 = gen.inserts(100, 100);  // spans segments
        try (Changelog log = Changelog.open(dir, SMALL); ChangelogReader reader = log.openReader(0)) {
            append(log, t1);
            assertNull(reader.next(SHORT), "complete but not synced");
            assertEquals(0, log.durableEndLsn());
            log.sync();
            assertSameRecords(t1.records(), read(reader, 4));
            assertNull(reader.next(SHORT));

            List<Rec> t2Records = t2.records();
            for (Rec r : t2Records.subList(0, t2Records.size() - 1)) {
                log.append(r.lsn(), r.buffer());
            }
            log.sync();
            assertTrue(log.segmentCount() > 2, "the open transaction reached new segments");
            assertNull(reader.next(SHORT), "synced but incomplete");
            Rec commit = t2Records.get(t2Records.size() - 1);
            log.append(commit.lsn(), commit.buffer());
            assertNull(reader.next(SHORT), "complete but the Commit is not synced");
            assertEquals(t1.endLsn(), log.durableEndLsn());
            assertEquals(t2.endLsn(), log.endLsn());
            log.sync();
            assertEquals(t2.endLsn(), log.durableEndLsn());
            assertSameRecords(t2Records, read(reader, t2Records.size(), Duration.ZERO));
            assertNull(reader.next(SHORT));
        }
    }

    @Test
    void timeoutReturnsNullAfterAboutTheTimeout() throws Exception {
        try (Changelog log = Changelog.open(dir, SMALL); ChangelogReader reader = log.openReader(0)) {
            long start = System.nanoTime();
            assertNull(reader.next(Duration.ofMillis(200)));
            long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(took >= 190 && took < 5000, "took " + took + " ms");
            assertNull(reader.next(Duration.ZERO));
        }
    }

    @Test
    void closingTheChangelogWakesWaitingReaders() throws Exception {
        Changelog log = Changelog.open(dir, SMALL);
        ChangelogReader reader = log.openReader(0);
        CompletableFuture<Object> waiting = async(() -> reader.next(Duration.ofSeconds(30)));
        Thread.sleep(200);
        long start = System.nanoTime();
        log.close();
        ExecutionException e = assertThrows(ExecutionException.class, () -> waiting.get(5, TimeUnit.SECONDS));
        assertInstanceOf(ChangelogClosedException.class, e.getCause());
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) < 2000);
        reader.close();
        assertEquals(0, log.pinCount());
        assertThrows(ChangelogClosedException.class, () -> log.openReader(0));
    }

    @Test
    void aWaitingReaderCanBeInterrupted() throws Exception {
        try (Changelog log = Changelog.open(dir, SMALL); ChangelogReader reader = log.openReader(0)) {
            List<Thread> self = new ArrayList<>();
            CompletableFuture<Object> waiting = async(() -> {
                synchronized (self) {
                    self.add(Thread.currentThread());
                    self.notifyAll();
                }
                return reader.next(Duration.ofSeconds(30));
            });
            synchronized (self) {
                while (self.isEmpty()) {
                    self.wait();
                }
            }
            Thread.sleep(100);
            self.get(0).interrupt();
            ExecutionException e = assertThrows(ExecutionException.class, () -> waiting.get(5, TimeUnit.SECONDS));
            assertInstanceOf(InterruptedException.class, e.getCause());
        }
    }
}
