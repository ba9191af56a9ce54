package io.pgrelay.apply;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.decode.PgOutputMessage.Relation;
import io.pgrelay.decode.PgOutputMessage.ReplicaIdentity;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(5)
class CopyFilterTest {

    private static Relation table(String schema, String name) {
        return new Relation(1, schema, name, ReplicaIdentity.DEFAULT, List.of());
    }

    @Test
    void aTransactionCommittedBeforeTheTablesSyncLsnIsInTheCopy() {
        CopyFilter filter = CopyFilter.of(Map.of("public.t", 1000L));
        assertTrue(filter.inCopy(table("public", "t"), 999));
        assertTrue(filter.inCopy(table("public", "t"), 0));
    }

    @Test
    void fromTheSyncLsnOnTheTransactionIsApplied() {
        // Native tablesync's rule: apply when statelsn <= remote_final_lsn.
        CopyFilter filter = CopyFilter.of(Map.of("public.t", 1000L));
        assertFalse(filter.inCopy(table("public", "t"), 1000));
        assertFalse(filter.inCopy(table("public", "t"), 1001));
    }

    @Test
    void otherTablesAreNeverFiltered() {
        CopyFilter filter = CopyFilter.of(Map.of("public.t", 1000L));
        assertFalse(filter.inCopy(table("public", "u"), 1));
        assertFalse(filter.inCopy(table("other", "t"), 1));
    }

    @Test
    void lsnsCompareUnsigned() {
        long high = 0x8000_0000_0000_0010L; // negative as a signed long
        CopyFilter filter = CopyFilter.of(Map.of("public.t", high));
        assertTrue(filter.inCopy(table("public", "t"), 0x10));
        assertFalse(filter.inCopy(table("public", "t"), high));
    }

    @Test
    void anEmptyMapIsNone() {
        assertSame(CopyFilter.NONE, CopyFilter.of(Map.of()));
        assertFalse(CopyFilter.NONE.inCopy(table("public", "t"), 0));
    }
}
