package io.pgrelay.apply;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.config.ConflictPolicy;
import io.pgrelay.decode.PgOutputMessage.Column;
import io.pgrelay.decode.PgOutputMessage.Delete;
import io.pgrelay.decode.PgOutputMessage.OldTupleKind;
import io.pgrelay.decode.PgOutputMessage.Relation;
import io.pgrelay.decode.PgOutputMessage.ReplicaIdentity;
import io.pgrelay.decode.PgOutputMessage.Update;
import io.pgrelay.decode.TupleData;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Runs of updates and deletes by key as one statement: its SQL, its arrays, and when it may be used. */
@Timeout(5)
class UnnestStatementTest {

    private static final List<Column> COLUMNS = List.of(
            new Column("id", 23, -1, true), new Column("name", 1043, 7, false), new Column("tags", 1009, -1, false));
    private static final DownstreamTable DOWNSTREAM = new DownstreamTable("\"s\".\"t\"", Map.of(
            "id", new DownstreamTable.ColumnType("integer", true),
            "name", new DownstreamTable.ColumnType("character varying(3)", true, "pg_catalog.\"varchar\""),
            "tags", new DownstreamTable.ColumnType("text[]", true)));

    private static TargetTable table(boolean setRuns, ConflictPolicy policy) {
        TargetTable table = new TargetTable(new Relation(1, "s", "t", ReplicaIdentity.DEFAULT, COLUMNS), DOWNSTREAM, policy)
                .withRowKeys(new int[] {0});
        return setRuns ? table.withSetRuns() : table;
    }

    private static RowStatement update(TargetTable table, String id, String name) {
        return table.update(new Update(1, OldTupleKind.NONE, null, TupleData.ofText(id, name, "{a}")), 0);
    }

    private static List<RowStatement> updates(TargetTable table, int count) {
        List<RowStatement> rows = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            rows.add(update(table, Integer.toString(i), i % 2 == 0 ? null : "n" + i));
        }
        return rows;
    }

    @Test
    void updateJoinsTheTableToOneArrayPerParameterCastWithoutTheTypeModifier() {
        UnnestStatement unnest = update(table(true, ConflictPolicy.ERROR), "1", "a").unnest();
        assertNotNull(unnest);
        assertEquals("UPDATE ONLY \"s\".\"t\" AS r SET \"id\" = v.p1::integer, \"name\" = v.p2::pg_catalog.\"varchar\", "
                + "\"tags\" = v.p3::text[] FROM unnest(?::text[], ?::text[], ?::text[], ?::text[]) AS v(p1, p2, p3, p4) "
                + "WHERE r.\"id\" = v.p4::integer", unnest.sql());
    }

    @Test
    void deleteJoinsOnTheKeyOnly() {
        UnnestStatement unnest = table(true, ConflictPolicy.ERROR)
                .delete(new Delete(1, OldTupleKind.KEY, TupleData.ofText("1", null, null)), 0).unnest();
        assertEquals("DELETE FROM ONLY \"s\".\"t\" AS r USING unnest(?::text[]) AS v(p1) WHERE r.\"id\" = v.p1::integer",
                unnest.sql());
    }

    @Test
    void onlyForTablesThatAllowItAndNotForUpserts() {
        assertNull(update(table(false, ConflictPolicy.ERROR), "1", "a").unnest());
        assertNull(update(table(true, ConflictPolicy.UPSERT), "1", "a").unnest());
        TargetTable keyless = new TargetTable(new Relation(1, "s", "t", ReplicaIdentity.DEFAULT, COLUMNS), DOWNSTREAM,
                ConflictPolicy.ERROR).withSetRuns(); // no row keys: rows cannot be told apart
        assertNull(update(keyless, "1", "a").unnest());
    }

    @Test
    void arraysQuoteEveryValueAndLeaveNullBare() {
        TargetTable table = table(true, ConflictPolicy.ERROR);
        List<RowStatement> rows = List.of(update(table, "1", "a\"b\\c,{d}"), update(table, "2", null));
        assertArrayEquals(new String[] {"{\"1\",\"2\"}", "{\"a\\\"b\\\\c,{d}\",NULL}", "{\"{a}\",\"{a}\"}", "{\"1\",\"2\"}"},
                rows.get(0).unnest().arrays(rows));
    }

    @Test
    void fitsOnlyRunsOfDistinctUnmovedKeysLongEnoughToPay() {
        TargetTable table = table(true, ConflictPolicy.ERROR);
        List<RowStatement> rows = updates(table, UnnestStatement.MIN_ROWS);
        UnnestStatement unnest = rows.get(0).unnest();
        assertTrue(unnest.fits(rows));
        assertFalse(unnest.fits(rows.subList(1, rows.size())), "too short to pay");

        List<RowStatement> twice = new ArrayList<>(rows);
        twice.add(update(table, "3", "again"));
        assertFalse(unnest.fits(twice), "one row changed twice: the join changes it once");

        List<RowStatement> moved = new ArrayList<>(rows);
        moved.add(table.update(new Update(1, OldTupleKind.KEY, TupleData.ofText("90", null, null),
                TupleData.ofText("91", "x", "{}")), 0));
        assertFalse(unnest.fits(moved), "a moved key may be the one a later row looks for");
    }
}
