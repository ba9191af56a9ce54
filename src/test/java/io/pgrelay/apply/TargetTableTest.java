package io.pgrelay.apply;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.config.ConflictPolicy;
import io.pgrelay.decode.PgOutputMessage.Column;
import io.pgrelay.decode.PgOutputMessage.Delete;
import io.pgrelay.decode.PgOutputMessage.Insert;
import io.pgrelay.decode.PgOutputMessage.OldTupleKind;
import io.pgrelay.decode.PgOutputMessage.Relation;
import io.pgrelay.decode.PgOutputMessage.ReplicaIdentity;
import io.pgrelay.decode.PgOutputMessage.Update;
import io.pgrelay.decode.TupleDataFixtures;
import io.pgrelay.decode.TupleData;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The SQL each row change becomes, per replica identity and conflict policy. */
@Timeout(5)
class TargetTableTest {

    private static final List<Column> COLUMNS = List.of(
            new Column("id", 23, -1, true), new Column("Name \"q\"", 25, -1, false), new Column("doc", 114, -1, false));
    private static final DownstreamTable DOWNSTREAM = new DownstreamTable("\"s\".\"T\"", Map.of(
            "id", new DownstreamTable.ColumnType("integer", true),
            "Name \"q\"", new DownstreamTable.ColumnType("text", true),
            "doc", new DownstreamTable.ColumnType("json", false)));

    private static TargetTable table(ReplicaIdentity identity, ConflictPolicy policy) {
        // pgoutput flags every column as key under FULL, and none under NOTHING.
        List<Column> columns = switch (identity) {
            case FULL -> COLUMNS.stream().map(c -> new Column(c.name(), c.typeOid(), c.typeModifier(), true)).toList();
            case NOTHING -> COLUMNS.stream().map(c -> new Column(c.name(), c.typeOid(), c.typeModifier(), false)).toList();
            default -> COLUMNS;
        };
        return new TargetTable(new Relation(1, "s", "T", identity, columns), DOWNSTREAM, policy);
    }

    @Test
    void insertQuotesIdentifiersAndBindsEveryValue() {
        RowStatement row = table(ReplicaIdentity.DEFAULT, ConflictPolicy.ERROR)
                .insert(new Insert(1, TupleData.ofText("1", "a'b", null)));
        assertEquals("INSERT INTO \"s\".\"T\" (\"id\", \"Name \"\"q\"\"\", \"doc\") VALUES (?, ?, ?)", row.sql());
        assertArrayEquals(new String[] {"1", "a'b", null}, row.params());
        assertFalse(row.expectsRow());
    }

    @Test
    void insertUnderSkipAndUpsert() {
        assertTrue(table(ReplicaIdentity.DEFAULT, ConflictPolicy.SKIP).insert(new Insert(1, TupleData.ofText("1", "a", null)))
                .sql().endsWith(" ON CONFLICT DO NOTHING"));
        assertTrue(table(ReplicaIdentity.DEFAULT, ConflictPolicy.UPSERT).insert(new Insert(1, TupleData.ofText("1", "a", null)))
                .sql().endsWith(" ON CONFLICT (\"id\") DO UPDATE SET \"Name \"\"q\"\"\" = EXCLUDED.\"Name \"\"q\"\"\", \"doc\" = EXCLUDED.\"doc\""));
    }

    @Test
    void updateLeavesUnchangedToastOutAndMatchesOnTheKey() {
        TupleData newRow = TupleDataFixtures.withUnchangedToast(new String[] {"1", "b", null}, 2);
        RowStatement row = table(ReplicaIdentity.DEFAULT, ConflictPolicy.ERROR).update(new Update(1, OldTupleKind.NONE, null, newRow), 0);
        assertEquals("UPDATE ONLY \"s\".\"T\" SET \"id\" = ?, \"Name \"\"q\"\"\" = ? WHERE \"id\" = ?", row.sql());
        assertArrayEquals(new String[] {"1", "b", "1"}, row.params());
        assertTrue(row.expectsRow());
    }

    @Test
    void keyChangeMatchesOnTheOldKey() {
        RowStatement row = table(ReplicaIdentity.DEFAULT, ConflictPolicy.ERROR).update(
                new Update(1, OldTupleKind.KEY, TupleData.ofText("1", null, null), TupleData.ofText("2", "b", "{}")), 0);
        assertArrayEquals(new String[] {"2", "b", "{}", "1"}, row.params());
        assertEquals("(id)=(1)", row.describeKey());
    }

    @Test
    void fullIdentityIsNullSafeComparesTextForTypesWithoutEqualityAndChangesOneRow() {
        RowStatement row = table(ReplicaIdentity.FULL, ConflictPolicy.ERROR)
                .delete(new Delete(1, OldTupleKind.FULL, TupleData.ofText("1", null, "{\"a\":1}")), 0);
        assertEquals("DELETE FROM ONLY \"s\".\"T\" WHERE (tableoid, ctid) = (SELECT tableoid, ctid FROM ONLY \"s\".\"T\" WHERE "
                + "\"id\" IS NOT DISTINCT FROM ? AND \"Name \"\"q\"\"\" IS NOT DISTINCT FROM ? AND \"doc\"::text IS NOT DISTINCT FROM ?::text LIMIT 1)",
                row.sql());
    }

    @Test
    void upsertOfAnUpdateInsertsWhenTheRowIsMissingWithTypedParameters() {
        RowStatement row = table(ReplicaIdentity.DEFAULT, ConflictPolicy.UPSERT)
                .update(new Update(1, OldTupleKind.NONE, null, TupleData.ofText("1", "b", "{}")), 0);
        assertTrue(row.sql().startsWith("WITH updated AS (UPDATE ONLY \"s\".\"T\" SET"), row.sql());
        assertTrue(row.sql().contains("SELECT ?::integer, ?::text, ?::json WHERE NOT EXISTS (SELECT 1 FROM updated)"), row.sql());
        assertEquals(7, row.params().length);
        assertFalse(row.expectsRow(), "zero inserted rows means updated in place");
    }

    @Test
    void updatesAndDeletesReachThisTableOnlyButAPartitionedTableWithItsPartitions() {
        TupleData row = TupleData.ofText("1", "b", "{}");
        assertTrue(table(ReplicaIdentity.DEFAULT, ConflictPolicy.ERROR).delete(new Delete(1, OldTupleKind.KEY, row), 0)
                .sql().startsWith("DELETE FROM ONLY \"s\".\"T\" WHERE"), "inheritance children keep their rows");
        TargetTable partitioned = new TargetTable(new Relation(1, "s", "T", ReplicaIdentity.DEFAULT, COLUMNS),
                new DownstreamTable(DOWNSTREAM.qualifiedName(), DOWNSTREAM.columns(), true), ConflictPolicy.ERROR);
        assertTrue(partitioned.delete(new Delete(1, OldTupleKind.KEY, row), 0).sql().startsWith("DELETE FROM \"s\".\"T\" WHERE"));
        assertTrue(partitioned.update(new Update(1, OldTupleKind.NONE, null, row), 0).sql().startsWith("UPDATE \"s\".\"T\" SET"));
        assertEquals("\"s\".\"T\"", partitioned.truncateTarget(), "TRUNCATE ONLY is an error on a partitioned table");
        assertEquals("ONLY \"s\".\"T\"", table(ReplicaIdentity.DEFAULT, ConflictPolicy.ERROR).truncateTarget());
    }

    @Test
    void sameShapeSharesSqlSoRowsBatchTogether() {
        TargetTable table = table(ReplicaIdentity.DEFAULT, ConflictPolicy.ERROR);
        assertSame(table.insert(new Insert(1, TupleData.ofText("1", "a", null))).sql(),
                table.insert(new Insert(1, TupleData.ofText("2", null, "x"))).sql());
    }

    @Test
    void updatesAndDeletesByKeyShareOneStatementWhateverTheKeySource() {
        TargetTable table = table(ReplicaIdentity.DEFAULT, ConflictPolicy.ERROR);
        RowStatement sameKey = table.update(new Update(1, OldTupleKind.NONE, null, TupleData.ofText("1", "a", "{}")), 0);
        RowStatement movedKey = table.update(
                new Update(1, OldTupleKind.KEY, TupleData.ofText("1", null, null), TupleData.ofText("2", "b", "{}")), 0);
        assertSame(sameKey.sql(), movedKey.sql());
        assertEquals("UPDATE ONLY \"s\".\"T\" SET \"id\" = ?, \"Name \"\"q\"\"\" = ?, \"doc\" = ? WHERE \"id\" = ?",
                sameKey.sql());
        assertArrayEquals(new String[] {"1", "a", "{}", "1"}, sameKey.params());
        TupleData toast = TupleDataFixtures.withUnchangedToast(new String[] {"1", "b", null}, 2);
        assertNotEquals(sameKey.sql(), table.update(new Update(1, OldTupleKind.NONE, null, toast), 0).sql(),
                "a row without its TOAST value has its own, shorter SET list");
        assertSame(table.delete(new Delete(1, OldTupleKind.KEY, TupleData.ofText("1", null, null)), 0).sql(),
                table.delete(new Delete(1, OldTupleKind.KEY, TupleData.ofText("2", null, null)), 0).sql());
    }

    @Test
    void noIdentityIsAClearError() {
        TargetTable table = table(ReplicaIdentity.NOTHING, ConflictPolicy.ERROR);
        ApplyException e = assertThrows(ApplyException.class,
                () -> table.delete(new Delete(1, OldTupleKind.KEY, TupleData.ofText(null, null, null)), 0x16B3748));
        assertTrue(e.getMessage().contains("s.T has no usable replica identity") && e.getMessage().contains("0/16B3748"),
                e.getMessage());
    }
}
