package io.pgrelay.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(5)
class CopyProgressTest {

    private static final SyncTable TABLE = new SyncTable("public", "big", false,
            List.of(new SyncTable.Column("id", "bigint", true)), null, 1_000_000);

    @Test
    void describesRateAndTimeLeftFromTheEstimate() {
        assertEquals("250000 rows, 31.2 MB in 5.0 s (50000 rows/s, 6.2 MB/s), about 15 s left of ~1000000 rows",
                CopyProgress.describe(250_000, 31_200_000, 5_000_000_000L, 1_000_000));
        assertEquals("10 rows, 0.0 MB in 1.0 s (10 rows/s, 0.0 MB/s)",
                CopyProgress.describe(10, 100, 1_000_000_000L, 0));
        assertEquals("0 rows, 0.0 MB in 0.0 s (0 rows/s, 0.0 MB/s)", CopyProgress.describe(0, 0, 0, 5));
    }

    @Test
    void reportsIncrementsInBatchesAndTheExactCountAtTheEnd() {
        List<long[]> reports = new ArrayList<>();
        SyncListener listener = new SyncListener() {
            @Override
            public void syncCopied(String table, long rows, long bytes) {
                reports.add(new long[] {rows, bytes});
            }
        };
        CopyProgress progress = new CopyProgress(TABLE, listener, 0);
        for (int i = 0; i < 10_000; i++) {
            progress.message(10, i);
        }
        assertEquals(1, reports.size());
        assertEquals(8192, reports.get(0)[0]);
        // Binary COPY sends a trailer message: the committed count, not the message count, wins.
        progress.done(9_999, 1_000_000_000L);
        long rows = reports.stream().mapToLong(r -> r[0]).sum();
        long bytes = reports.stream().mapToLong(r -> r[1]).sum();
        assertEquals(9_999, rows);
        assertEquals(100_000, bytes);
        assertEquals(100_000, progress.bytes());
    }
}
