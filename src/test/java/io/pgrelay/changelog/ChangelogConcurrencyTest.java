package io.pgrelay.changelog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.changelog.Pg.Gen;
import io.pgrelay.changelog.Pg.Rec;
import io.pgrelay.changelog.Pg.Txn;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(120)
class ChangelogConcurrencyTest {

    @TempDir
    Path dir;

    @Test
    void oneWriterThreeReadersAndReleasesAllSeeTheExactSequence() throws Exception {
        // ~50k records in transactions of varied size, some definitions, some large records.
        Random random = new Random(42);
        Gen gen = new Gen();
        List<Txn> txns = new ArrayList<>();
        int records = 0;
        while (records < 50_000) {
            Txn t;
            int kind = random.nextInt(100);
            if (kind < 3) {
                t = gen.txn(Pg.relation(1 + random.nextInt(20), "r", random.nextInt(5)), Pg.insert(1, 30, records));
            } else if (kind < 4) {
                t = gen.inserts(1, 20_000 + random.nextInt(20_000));
            } else if (kind < 6) {
                t = gen.inserts(200 + random.nextInt(300), 40);
            } else if (kind < 8) {
                t = gen.message("m" + records);
            } else {
                t = gen.inserts(1 + random.nextInt(12), 10 + random.nextInt(300));
            }
            txns.add(t);
            records += t.records().size();
        }
        List<Rec> expected = Pg.records(txns);
        ChangelogOptions options = new ChangelogOptions(64 << 10, 16 << 10, 4 << 10, 1 << 20);

        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        AtomicBoolean done = new AtomicBoolean();
        int readerCount = 3;
        AtomicLongArray confirmed = new AtomicLongArray(readerCount);
        List<Thread> threads = new ArrayList<>();
        try (Changelog log = Changelog.open(dir, options)) {
            threads.add(thread("writer", failures, () -> {
                Random r = new Random(7);
                int sinceSync = 0;
                for (Txn t : txns) {
                    if (r.nextInt(50) == 0 && t.records().size() > 2) {
                        // The upstream session breaks in the middle; the transaction comes again.
                        for (Rec rec : t.records().subList(0, 1 + r.nextInt(t.records().size() - 1))) {
                            log.append(rec.lsn(), rec.buffer());
                        }
                        if (r.nextBoolean()) {
                            log.sync();
                        }
                        log.discardIncompleteTail();
                    }
                    for (Rec rec : t.records()) {
                        log.append(rec.lsn(), rec.buffer());
                    }
                    sinceSync += t.records().size();
                    if (sinceSync > r.nextInt(400)) {
                        log.sync();
                        sinceSync = 0;
                    }
                }
                log.sync();
            }));
            for (int i = 0; i < readerCount; i++) {
                int id = i;
                threads.add(thread("reader-" + i, failures, () -> {
                    try (ChangelogReader reader = log.openReader(0)) {
                        for (int n = 0; n < expected.size(); n++) {
                            ChangelogRecord got = reader.next(Duration.ofSeconds(30));
                            Rec rec = Pg.rec(got);
                            if (!rec.equals(expected.get(n))) {
                                throw new AssertionError("reader " + id + " record " + n + ": expected " + expected.get(n)
                                        + " got " + rec);
                            }
                            if (rec.type() == 'C') {
                                long end = java.nio.ByteBuffer.wrap(rec.bytes()).getLong(10);
                                if (Long.compareUnsigned(log.durableEndLsn(), end) < 0) {
                                    throw new AssertionError("reader " + id + " saw a commit that is not durable yet");
                                }
                                confirmed.set(id, end);
                            }
                            if (id == 0 && n % 5000 == 0) {
                                Thread.sleep(20);  // one slow reader holds retention back
                            }
                        }
                        if (reader.next(Duration.ofMillis(100)) != null) {
                            throw new AssertionError("reader " + id + " got more than was written");
                        }
                    }
                }));
            }
            threads.add(thread("releaser", failures, () -> {
                while (!done.get()) {
                    long min = Long.MAX_VALUE;
                    for (int i = 0; i < readerCount; i++) {
                        min = Math.min(min, confirmed.get(i));
                    }
                    if (min > 0) {
                        log.releaseUpTo(min);
                    }
                    Thread.sleep(2);
                }
            }));
            for (Thread t : threads) {
                t.start();
            }
            for (Thread t : threads.subList(0, 1 + readerCount)) {
                t.join(100_000);
                assertTrue(!t.isAlive() || !failures.isEmpty(), t.getName() + " did not finish");
                if (!failures.isEmpty()) {
                    break;
                }
            }
            done.set(true);
            for (Thread t : threads) {
                t.join(10_000);
            }
            if (!failures.isEmpty()) {
                AssertionError e = new AssertionError("a background thread failed: " + failures.peek(), failures.peek());
                failures.stream().skip(1).forEach(e::addSuppressed);
                throw e;
            }
            assertEquals(txns.get(txns.size() - 1).endLsn() == 0 ? log.endLsn() : txns.get(txns.size() - 1).endLsn(),
                    log.durableEndLsn());
            assertEquals(0, log.pinCount());
            assertTrue(log.segmentCount() < 10, "released behind the readers: " + log.segmentCount());
        }
    }

    interface Body {
        void run() throws Exception;
    }

    static Thread thread(String name, ConcurrentLinkedQueue<Throwable> failures, Body body) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                failures.add(e);
            }
        }, name);
        t.setDaemon(true);
        return t;
    }
}
