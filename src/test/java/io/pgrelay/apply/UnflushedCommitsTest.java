package io.pgrelay.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.checkpoint.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.replication.LogSequenceNumber;

@Timeout(5)
class UnflushedCommitsTest {

    private static Checkpoint at(long lsn) {
        return new Checkpoint(LogSequenceNumber.valueOf(lsn), null);
    }

    @Test
    void nothingIsFlushedBeforeTheDownstreamFlushReachesTheCommit() {
        UnflushedCommits commits = new UnflushedCommits();
        commits.add(at(100), 5000);
        assertNull(commits.flushedUpTo(4999));
        assertEquals(at(100), commits.flushedUpTo(5000));
        assertTrue(commits.isEmpty());
    }

    @Test
    void aFlushReleasesEveryCommitItCoversAndReturnsTheNewest() {
        UnflushedCommits commits = new UnflushedCommits();
        commits.add(at(100), 5000);
        commits.add(at(200), 6000);
        commits.add(at(300), 7000);
        assertEquals(at(200), commits.flushedUpTo(6500));
        assertEquals(7000, commits.lastWalEnd());
        assertEquals(at(300), commits.flushedUpTo(Long.MAX_VALUE));
        assertEquals(-1, commits.lastWalEnd());
    }

    @Test
    void walPositionsCompareUnsigned() {
        UnflushedCommits commits = new UnflushedCommits();
        commits.add(at(100), 0x8000_0000_0000_0000L);
        assertNull(commits.flushedUpTo(0x7FFF_FFFF_FFFF_FFFFL));
        assertEquals(at(100), commits.flushedUpTo(0x8000_0000_0000_0001L));
    }

    @Test
    void whenFullTheOldestIsDroppedAndALaterFlushStillCoversIt() {
        UnflushedCommits commits = new UnflushedCommits();
        for (int i = 1; i <= UnflushedCommits.MAX_ENTRIES + 10; i++) {
            commits.add(at(i), i * 10L);
        }
        assertNull(commits.flushedUpTo(100), "entries up to 10 were dropped, none is returned for them");
        assertEquals(at(20), commits.flushedUpTo(200));
    }
}
