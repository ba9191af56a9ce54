package io.pgrelay.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.apply.DownstreamConstraints.Table;
import io.pgrelay.decode.PgOutputMessage.Column;
import io.pgrelay.decode.PgOutputMessage.Delete;
import io.pgrelay.decode.PgOutputMessage.Insert;
import io.pgrelay.decode.PgOutputMessage.OldTupleKind;
import io.pgrelay.decode.PgOutputMessage.Relation;
import io.pgrelay.decode.PgOutputMessage.ReplicaIdentity;
import io.pgrelay.decode.PgOutputMessage.Update;
import io.pgrelay.decode.TupleData;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(5)
class ConflictKeysTest {

    private static final int INT4 = 23;
    private static final int TEXT = 25;
    private static final int NUMERIC = 1700;

    private static Relation relation(int id, String name, ReplicaIdentity identity, Column... columns) {
        return new Relation(id, "public", name, identity, List.of(columns));
    }

    private static Column key(String name, int type) {
        return new Column(name, type, -1, true);
    }

    private static Column plain(String name) {
        return new Column(name, TEXT, -1, false);
    }

    private static Table plainTable(String... uniqueKey) {
        return new Table(null, false, uniqueKey.length == 0 ? List.of() : List.of(Set.of(uniqueKey)));
    }

    private static ConflictKeys keys(Map<String, Table> tables, Relation... relations) {
        ConflictKeys keys = new ConflictKeys(DownstreamConstraints.of(tables));
        for (Relation relation : relations) {
            keys.relation(relation);
        }
        return keys;
    }

    private static Set<String> insert(ConflictKeys keys, int relationId, String... values) {
        Set<String> out = new HashSet<>();
        keys.insert(new Insert(relationId, TupleData.ofText(values)), out);
        return out;
    }

    @Test
    void rowsWithTheSameKeyCollideAndOthersDoNot() {
        ConflictKeys keys = keys(Map.of("\"public\".\"t\"", plainTable("id")),
                relation(1, "t", ReplicaIdentity.DEFAULT, key("id", INT4), plain("v")));
        assertEquals(insert(keys, 1, "1", "a"), insert(keys, 1, "1", "b"));
        assertNotEquals(insert(keys, 1, "1", "a"), insert(keys, 1, "2", "a"));
    }

    @Test
    void keyValuesAreLengthPrefixedSoDifferentListsNeverMeet() {
        ConflictKeys keys = keys(Map.of("\"public\".\"t\"", plainTable("a", "b")),
                relation(1, "t", ReplicaIdentity.DEFAULT, key("a", TEXT), key("b", TEXT)));
        assertNotEquals(insert(keys, 1, "ab", "c"), insert(keys, 1, "a", "bc"));
        assertNotEquals(insert(keys, 1, null, "x"), insert(keys, 1, "", "x"));
    }

    @Test
    void anUpdateThatMovesTheKeyHoldsTheOldAndTheNewKey() {
        ConflictKeys keys = keys(Map.of("\"public\".\"t\"", plainTable("id")),
                relation(1, "t", ReplicaIdentity.DEFAULT, key("id", INT4), plain("v")));
        Set<String> moved = new HashSet<>();
        keys.update(new Update(1, OldTupleKind.KEY, TupleData.ofText("1", null), TupleData.ofText("1001", "v")), moved);
        assertEquals(2, moved.size());
        assertTrue(moved.containsAll(insert(keys, 1, "1", "x")));
        assertTrue(moved.containsAll(insert(keys, 1, "1001", "x")));
        Set<String> deleted = new HashSet<>();
        keys.delete(new Delete(1, OldTupleKind.KEY, TupleData.ofText("1", null)), deleted);
        assertEquals(insert(keys, 1, "1", "y"), deleted);
    }

    @Test
    void tablesWhoseRowsCannotBeToldApartSafelyAreOneKey() {
        Map<String, Table> tables = Map.of(
                "\"public\".\"email\"", new Table(null, false, List.of(Set.of("id"), Set.of("email"))),
                "\"public\".\"num\"", plainTable("id"),
                "\"public\".\"full\"", plainTable(),
                "\"public\".\"nokey\"", plainTable());
        ConflictKeys keys = keys(tables,
                relation(1, "email", ReplicaIdentity.DEFAULT, key("id", INT4), plain("email")),
                relation(2, "num", ReplicaIdentity.DEFAULT, key("id", NUMERIC)),
                relation(3, "full", ReplicaIdentity.FULL, key("a", INT4), key("b", INT4)),
                relation(4, "nokey", ReplicaIdentity.DEFAULT, plain("a")));
        // A second unique constraint: two rows of different ids may still collide on email.
        assertEquals(insert(keys, 1, "1", "a@x"), insert(keys, 1, "2", "b@x"));
        // numeric prints 1.0 and 1.00 for one value.
        assertEquals(insert(keys, 2, "1.0"), insert(keys, 2, "1.00"));
        assertEquals(insert(keys, 3, "1", "2"), insert(keys, 3, "3", "4"));
        assertEquals(insert(keys, 4, "a"), insert(keys, 4, "b"));
        assertNotEquals(insert(keys, 3, "1", "2"), insert(keys, 4, "a"), "different tables never collide");
    }

    @Test
    void tablesLinkedByForeignKeysAreOneKeyTogether() {
        DownstreamConstraints.ForeignKeyGroups groups = new DownstreamConstraints.ForeignKeyGroups();
        groups.link("\"public\".\"child\"", "\"public\".\"parent\"");
        groups.link("\"public\".\"grandchild\"", "\"public\".\"child\"");
        String group = groups.groupOf("\"public\".\"parent\"");
        assertEquals(group, groups.groupOf("\"public\".\"grandchild\""));
        assertNull(groups.groupOf("\"public\".\"alone\""));
        ConflictKeys keys = keys(Map.of(
                        "\"public\".\"parent\"", new Table(group, false, List.of(Set.of("id"))),
                        "\"public\".\"grandchild\"", new Table(group, false, List.of(Set.of("id")))),
                relation(1, "parent", ReplicaIdentity.DEFAULT, key("id", INT4)),
                relation(2, "grandchild", ReplicaIdentity.DEFAULT, key("id", INT4)));
        assertEquals(insert(keys, 1, "1"), insert(keys, 2, "2"));
    }

    @Test
    void tablesWithTriggersOrRulesOrUnknownToTheCatalogAreBarriers() {
        ConflictKeys keys = keys(Map.of(
                        "\"public\".\"audited\"", new Table(null, true, List.of(Set.of("id"))),
                        "\"public\".\"plain\"", plainTable("id")),
                relation(1, "audited", ReplicaIdentity.DEFAULT, key("id", INT4)),
                relation(2, "plain", ReplicaIdentity.DEFAULT, key("id", INT4)),
                relation(3, "created_later", ReplicaIdentity.DEFAULT, key("id", INT4)));
        assertTrue(keys.isBarrier(1));
        assertFalse(keys.isBarrier(2));
        assertTrue(keys.isBarrier(3));
    }

    @Test
    void onlyAChangedRelationIsABarrierNotTheSameOneSentAgain() {
        Relation first = relation(1, "t", ReplicaIdentity.DEFAULT, key("id", INT4), plain("v"));
        ConflictKeys keys = keys(Map.of("\"public\".\"t\"", plainTable("id")), first);
        assertFalse(keys.relation(relation(1, "t", ReplicaIdentity.DEFAULT, key("id", INT4), plain("v"))));
        assertTrue(keys.relation(relation(1, "t", ReplicaIdentity.DEFAULT, key("id", INT4), plain("v"), plain("w"))));
        assertFalse(keys.relation(relation(2, "u", ReplicaIdentity.DEFAULT, key("id", INT4))), "a new relation is not a change");
    }
}
