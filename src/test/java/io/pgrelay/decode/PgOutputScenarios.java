package io.pgrelay.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgrelay.decode.PgOutputFixtureFile.Frame;
import io.pgrelay.decode.PgOutputMessage.Begin;
import io.pgrelay.decode.PgOutputMessage.Column;
import io.pgrelay.decode.PgOutputMessage.Commit;
import io.pgrelay.decode.PgOutputMessage.Delete;
import io.pgrelay.decode.PgOutputMessage.Insert;
import io.pgrelay.decode.PgOutputMessage.LogicalMessage;
import io.pgrelay.decode.PgOutputMessage.OldTupleKind;
import io.pgrelay.decode.PgOutputMessage.Origin;
import io.pgrelay.decode.PgOutputMessage.Relation;
import io.pgrelay.decode.PgOutputMessage.ReplicaIdentity;
import io.pgrelay.decode.PgOutputMessage.Truncate;
import io.pgrelay.decode.PgOutputMessage.Type;
import io.pgrelay.decode.PgOutputMessage.Update;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.postgresql.replication.LogSequenceNumber;

/**
 * The pgoutput scenarios captured by {@code PgOutputFixtureCaptureIT}: the values the IT writes and
 * the exact records {@link PgOutputDecoder} must produce for them.
 *
 * <p>Shared by the IT (checking a fresh capture) and {@code PgOutputDecoderTest} (checking the
 * stored fixtures), so the two can never disagree on what a scenario means. Values that a capture
 * cannot fix in advance (relation ids, type OIDs, xids, LSNs, commit times) are checked for
 * consistency instead: Insert and Relation ids match, Begin.finalLsn == Commit.commitLsn, and so on.
 */
final class PgOutputScenarios {

    /** The scenarios in capture order; each is one fixture file {@code NAME.bin}. */
    static final List<String> NAMES = List.of("insert", "types", "unicode_names", "update_plain", "update_key",
            "update_full", "update_index", "update_toast", "delete_key", "delete_full", "truncate", "message",
            "origin");

    // Built-in type OIDs (pg_type.dat) and type modifiers.
    static final int BOOL = 16;
    static final int INT8 = 20;
    static final int INT4 = 23;
    static final int TEXT = 25;
    static final int VARCHAR = 1043;
    static final int NUMERIC = 1700;
    /** User objects get OIDs from here on (FirstNormalObjectId). */
    static final int FIRST_NORMAL_OID = 16384;
    static final int NO_TYPMOD = -1;
    /** numeric(10,2): ((precision << 16) | scale) + VARHDRSZ. */
    static final int NUMERIC_10_2 = ((10 << 16) | 2) + 4;
    /** varchar(32): length + VARHDRSZ. */
    static final int VARCHAR_32 = 32 + 4;

    /** Quotes, backslashes, control characters, a 4-byte UTF-8 emoji and 2/3-byte characters. */
    static final String TRICKY_TEXT = "it's \"quoted\" \\back\\slash\\ and\nnewline\ttab 🐘 üñí €";
    /** Text that looks like escapes in other formats (COPY's \N, SQL's '', bytea's \x). */
    static final String TRICKY_NOTE = "line1\r\nline2 \\N '' \\x00";

    /** {@code item}: id, label, note, flag, qty, price, code, as text (null = SQL NULL). */
    static final List<List<String>> ITEM_ROWS = List.of(
            Arrays.asList("1", "plain", "first", "t", "10", "1.50", "a1"),
            Arrays.asList("2", TRICKY_TEXT, TRICKY_NOTE, "f", "-9223372036854775808", "-0.01", "b2"),
            Arrays.asList("3", "nulls", null, null, null, null, null));

    static final String UNICODE_SCHEMA = "Sch€ma";
    static final String UNICODE_TABLE = "MixedCase_Tábla";
    static final List<String> UNICODE_COLUMNS = List.of("Id", "Größe", "camelCase");
    static final List<String> UNICODE_ROW = List.of("1", "groß 🐘", "Value");

    /** 12,000 random letters and digits: stored out of line (STORAGE EXTERNAL), far over 8 kB. */
    static final String BIG_TEXT = bigText();

    static final String MESSAGE_PREFIX = "pgrelay";
    static final String TRANSACTIONAL_CONTENT = "hello";
    static final String NON_TRANSACTIONAL_CONTENT = "non-transactional ✓";
    static final String BINARY_MESSAGE_PREFIX = "pgrelay.bin";
    static final byte[] BINARY_MESSAGE_CONTENT = {0x00, (byte) 0xff, 0x0a, (byte) 0x80};

    static final String ORIGIN_NAME = "o1";
    /** Set with pg_replication_origin_xact_setup; pgoutput sends it in the Origin message. */
    static final long ORIGIN_LSN = 0xABCDEFL;
    /**
     * Also set with pg_replication_origin_xact_setup. For a transaction with an origin, PostgreSQL
     * reports the origin's commit timestamp as the commit time in Begin and Commit.
     */
    static final Instant ORIGIN_TIMESTAMP = Instant.parse("2001-02-03T04:05:06.789012Z");

    /** Marks an unchanged TOAST column ('u') in an expected tuple. */
    static final Object UNCHANGED = new Object() {
        @Override
        public String toString() {
            return "<unchanged toast>";
        }
    };

    /** Where commit times of this capture must lie (the origin scenario's excepted). */
    record Window(Instant from, Instant to) {
        boolean contains(Instant instant) {
            return !instant.isBefore(from) && instant.isBefore(to);
        }
    }

    private PgOutputScenarios() {
    }

    /** Decodes every frame of one scenario and asserts the exact sequence of records. */
    static void check(String scenario, List<Frame> frames, Window window) {
        Stream s = new Stream(scenario, frames, window);
        switch (scenario) {
            case "insert" -> {
                Txn t = s.begin();
                Relation item = s.relation(itemRelation());
                for (List<String> row : ITEM_ROWS) {
                    s.insert(item, row.toArray());
                }
                s.commit(t);
            }
            case "types" -> {
                Txn t = s.begin();
                Type mood = s.type("public", "mood");
                Type moodArray = s.type("public", "_mood");
                // A domain is described by the OID of the domain but the name of its base type.
                Type domain = s.type("", "int4");
                Type pair = s.type("public", "pair");
                assertEquals(4, Set.of(mood.typeOid(), moodArray.typeOid(), domain.typeOid(), pair.typeOid()).size(),
                        "distinct type OIDs");
                Relation typed = s.relation(new Relation(0, "public", "typed", ReplicaIdentity.DEFAULT, List.of(
                        new Column("id", INT4, NO_TYPMOD, true),
                        new Column("m", mood.typeOid(), NO_TYPMOD, false),
                        new Column("ms", moodArray.typeOid(), NO_TYPMOD, false),
                        new Column("d", domain.typeOid(), NO_TYPMOD, false),
                        new Column("p", pair.typeOid(), NO_TYPMOD, false))));
                s.insert(typed, "1", "happy", "{happy,sad}", "42", "(7,\"x y\")");
                s.commit(t);
            }
            case "unicode_names" -> {
                Txn t = s.begin();
                Relation table = s.relation(new Relation(0, UNICODE_SCHEMA, UNICODE_TABLE, ReplicaIdentity.DEFAULT,
                        List.of(new Column(UNICODE_COLUMNS.get(0), INT4, NO_TYPMOD, true),
                                new Column(UNICODE_COLUMNS.get(1), TEXT, NO_TYPMOD, false),
                                new Column(UNICODE_COLUMNS.get(2), TEXT, NO_TYPMOD, false))));
                assertEquals(UNICODE_SCHEMA + "." + UNICODE_TABLE, table.qualifiedName());
                s.insert(table, UNICODE_ROW.toArray());
                s.commit(t);
            }
            case "update_plain" -> {
                Txn t = s.begin();
                Relation item = s.relation(itemRelation());
                s.update(item, OldTupleKind.NONE, null, values("1", "plain", "changed", "t", "10", "1.50", "a1"));
                s.commit(t);
            }
            case "update_key" -> {
                Txn t = s.begin();
                Relation item = s.relation(itemRelation());
                List<String> row = ITEM_ROWS.get(1);
                s.update(item, OldTupleKind.KEY, values("2", null, null, null, null, null, null),
                        values("20", row.get(1), row.get(2), row.get(3), row.get(4), row.get(5), row.get(6)));
                s.commit(t);
            }
            case "update_full" -> {
                Txn t = s.begin();
                Relation full = s.relation(fullRelation());
                s.update(full, OldTupleKind.FULL, values("1", "a", "x"), values("1", "a2", "x"));
                s.commit(t);
            }
            case "update_index" -> {
                Txn t1 = s.begin();
                Relation idx = s.relation(new Relation(0, "public", "idx_t", ReplicaIdentity.INDEX, List.of(
                        new Column("id", INT4, NO_TYPMOD, false),
                        new Column("code", TEXT, NO_TYPMOD, true),
                        new Column("val", TEXT, NO_TYPMOD, false))));
                s.update(idx, OldTupleKind.NONE, null, values("1", "c1", "v2"));
                s.commit(t1);
                // Same session: the Relation is not sent again.
                Txn t2 = s.begin();
                s.update(idx, OldTupleKind.KEY, values(null, "c1", null), values("1", "c2", "v2"));
                s.commit(t2);
            }
            case "update_toast" -> {
                Txn t1 = s.begin();
                Relation doc = s.relation(new Relation(0, "public", "doc", ReplicaIdentity.DEFAULT, List.of(
                        new Column("id", INT4, NO_TYPMOD, true),
                        new Column("title", TEXT, NO_TYPMOD, false),
                        new Column("body", TEXT, NO_TYPMOD, false))));
                s.insert(doc, "1", "t1", BIG_TEXT);
                s.commit(t1);
                Txn t2 = s.begin();
                TupleData updated = s.update(doc, OldTupleKind.NONE, null, values("1", "t2", UNCHANGED));
                assertTrue(updated.hasUnchangedToast());
                assertTrue(updated.isUnchangedToast(2));
                assertFalse(updated.isUnchangedToast(1));
                s.commit(t2);
            }
            case "delete_key" -> {
                Txn t = s.begin();
                Relation item = s.relation(itemRelation());
                s.delete(item, OldTupleKind.KEY, values("3", null, null, null, null, null, null));
                s.commit(t);
            }
            case "delete_full" -> {
                Txn t = s.begin();
                Relation full = s.relation(fullRelation());
                s.delete(full, OldTupleKind.FULL, values("2", "b", null));
                s.commit(t);
            }
            case "truncate" -> {
                // TRUNCATE parent RESTART IDENTITY CASCADE: child is truncated by the cascade.
                Txn t1 = s.begin();
                Relation parent = s.relation(new Relation(0, "public", "parent", ReplicaIdentity.DEFAULT, List.of(
                        new Column("id", INT4, NO_TYPMOD, true), new Column("v", TEXT, NO_TYPMOD, false))));
                Relation child = s.relation(new Relation(0, "public", "child", ReplicaIdentity.DEFAULT, List.of(
                        new Column("id", INT4, NO_TYPMOD, true), new Column("parent_id", INT4, NO_TYPMOD, false))));
                s.truncate(List.of(parent, child), true, true);
                s.commit(t1);
                // TRUNCATE solo_a, solo_b
                Txn t2 = s.begin();
                Relation soloA = s.relation(singleIntKey("solo_a"));
                Relation soloB = s.relation(singleIntKey("solo_b"));
                s.truncate(List.of(soloA, soloB), false, false);
                s.commit(t2);
                // TRUNCATE solo_a RESTART IDENTITY; a truncated table gets a new relfilenode, which
                // invalidates pgoutput's cache entry, so the Relation is sent again.
                Txn t3 = s.begin();
                s.relation(singleIntKey("solo_a"));
                s.truncate(List.of(soloA), false, true);
                s.commit(t3);
                // TRUNCATE solo_b CASCADE
                Txn t4 = s.begin();
                s.relation(singleIntKey("solo_b"));
                s.truncate(List.of(soloB), true, false);
                s.commit(t4);
            }
            case "message" -> {
                Txn t = s.begin();
                LogicalMessage inside = s.message(true, MESSAGE_PREFIX,
                        TRANSACTIONAL_CONTENT.getBytes(StandardCharsets.UTF_8));
                assertTrue(inside.lsn().asLong() <= t.begin.finalLsn().asLong(),
                        "a transactional message precedes its commit");
                Commit commit = s.commit(t);
                LogicalMessage outside = s.message(false, MESSAGE_PREFIX,
                        NON_TRANSACTIONAL_CONTENT.getBytes(StandardCharsets.UTF_8));
                LogicalMessage binary = s.message(false, BINARY_MESSAGE_PREFIX, BINARY_MESSAGE_CONTENT);
                assertTrue(outside.lsn().asLong() > commit.endLsn().asLong(), "emitted after the first transaction");
                assertTrue(binary.lsn().asLong() > outside.lsn().asLong(), "emitted in order");
            }
            case "origin" -> {
                Txn t = s.begin(ORIGIN_TIMESTAMP);
                Origin origin = s.next(Origin.class);
                assertEquals(new Origin(LogSequenceNumber.valueOf(ORIGIN_LSN), ORIGIN_NAME), origin);
                Relation soloB = s.relation(singleIntKey("solo_b"));
                s.insert(soloB, "7");
                s.commit(t);
            }
            default -> fail("unknown scenario " + scenario);
        }
        s.end();
    }

    /**
     * Checks that hold across the scenarios of one capture: one relation id per table, and xids and
     * LSNs that grow in capture order.
     */
    static void checkCapture(Map<String, List<Frame>> capture) {
        assertEquals(NAMES, List.copyOf(capture.keySet()), "scenarios in capture order");
        PgOutputDecoder decoder = new PgOutputDecoder();
        Map<String, Integer> idsByName = new HashMap<>();
        Map<Integer, String> namesById = new HashMap<>();
        long lastLsn = -1;
        long lastXid = -1;
        for (Map.Entry<String, List<Frame>> entry : capture.entrySet()) {
            for (Frame frame : entry.getValue()) {
                assertTrue(frame.lsn() >= lastLsn, entry.getKey() + ": row LSNs grow across the capture");
                lastLsn = frame.lsn();
                PgOutputMessage message = decoder.decode(frame.buffer());
                if (message instanceof Relation relation) {
                    Integer known = idsByName.putIfAbsent(relation.qualifiedName(), relation.relationId());
                    assertEquals(known == null ? relation.relationId() : known, relation.relationId(),
                            entry.getKey() + ": relation id of " + relation.qualifiedName());
                    String knownName = namesById.putIfAbsent(relation.relationId(), relation.qualifiedName());
                    assertEquals(knownName == null ? relation.qualifiedName() : knownName, relation.qualifiedName(),
                            entry.getKey() + ": relation " + relation.relationId());
                } else if (message instanceof Begin begin) {
                    long xid = Integer.toUnsignedLong(begin.xid());
                    assertTrue(xid > lastXid, entry.getKey() + ": xids grow across the capture");
                    lastXid = xid;
                }
            }
        }
        assertEquals(Set.of("public.item", "public.typed", UNICODE_SCHEMA + "." + UNICODE_TABLE, "public.full_t",
                "public.idx_t", "public.doc", "public.parent", "public.child", "public.solo_a", "public.solo_b"),
                idsByName.keySet(), "relations seen in the capture");
    }

    /** An expected tuple: a String is a text value, null is NULL, {@link #UNCHANGED} is unchanged TOAST. */
    static Object[] values(Object... values) {
        return values;
    }

    static Relation itemRelation() {
        return new Relation(0, "public", "item", ReplicaIdentity.DEFAULT, List.of(
                new Column("id", INT4, NO_TYPMOD, true),
                new Column("label", TEXT, NO_TYPMOD, false),
                new Column("note", TEXT, NO_TYPMOD, false),
                new Column("flag", BOOL, NO_TYPMOD, false),
                new Column("qty", INT8, NO_TYPMOD, false),
                new Column("price", NUMERIC, NUMERIC_10_2, false),
                new Column("code", VARCHAR, VARCHAR_32, false)));
    }

    /** REPLICA IDENTITY FULL: every column is flagged as part of the identity. */
    static Relation fullRelation() {
        return new Relation(0, "public", "full_t", ReplicaIdentity.FULL, List.of(
                new Column("id", INT4, NO_TYPMOD, true),
                new Column("val", TEXT, NO_TYPMOD, true),
                new Column("extra", TEXT, NO_TYPMOD, true)));
    }

    static Relation singleIntKey(String table) {
        return new Relation(0, "public", table, ReplicaIdentity.DEFAULT,
                List.of(new Column("id", INT4, NO_TYPMOD, true)));
    }

    /** Asserts a decoded tuple against expected values (see {@link #values}). */
    static void assertTuple(Object[] expected, TupleData actual, String what) {
        assertNotNull(actual, what);
        assertEquals(expected.length, actual.size(), what + ": column count");
        for (int i = 0; i < expected.length; i++) {
            Object value = expected[i];
            String column = what + ": column " + i;
            if (value == null) {
                assertEquals(TupleData.Kind.NULL, actual.kind(i), column);
                assertNull(actual.text(i), column);
            } else if (value == UNCHANGED) {
                assertEquals(TupleData.Kind.UNCHANGED_TOAST, actual.kind(i), column);
                assertTrue(actual.isUnchangedToast(i), column);
            } else {
                assertEquals(TupleData.Kind.TEXT, actual.kind(i), column);
                assertFalse(actual.isUnchangedToast(i), column);
                assertEquals(value, actual.text(i), column);
            }
        }
    }

    /** A transaction being checked. */
    static final class Txn {
        final Begin begin;
        final long beginRowLsn;

        Txn(Begin begin, long beginRowLsn) {
            this.begin = begin;
            this.beginRowLsn = beginRowLsn;
        }
    }

    /** Walks the decoded messages of one scenario, checking what holds for every message. */
    static final class Stream {
        private final String scenario;
        private final List<Frame> frames;
        private final List<PgOutputMessage> messages = new ArrayList<>();
        private final Window window;
        /** Relations and types announced in this session, by id: a change needs its Relation first. */
        private final Map<Integer, Relation> relations = new LinkedHashMap<>();
        private final Map<Integer, Type> types = new LinkedHashMap<>();
        private final Set<Integer> xids = new HashSet<>();
        private int next;
        private Txn open;
        private long lastXid = -1;

        Stream(String scenario, List<Frame> frames, Window window) {
            this.scenario = scenario;
            this.frames = List.copyOf(frames);
            this.window = window;
            PgOutputDecoder decoder = new PgOutputDecoder();
            for (int i = 0; i < frames.size(); i++) {
                try {
                    messages.add(decoder.decode(frames.get(i).buffer()));
                } catch (RuntimeException e) {
                    throw new AssertionError(where(i) + ": cannot decode " + frames.get(i), e);
                }
            }
        }

        private String where(int index) {
            return scenario + " message " + index;
        }

        <T extends PgOutputMessage> T next(Class<T> type) {
            assertTrue(next < messages.size(), scenario + ": expected " + type.getSimpleName()
                    + " after message " + (next - 1) + ", but the capture ends");
            int index = next++;
            PgOutputMessage message = messages.get(index);
            assertNotNull(message, where(index));
            if (!type.isInstance(message)) {
                fail(where(index) + ": expected " + type.getSimpleName() + ", got " + message);
            }
            long rowLsn = frames.get(index).lsn();
            if (index > 0) {
                assertTrue(rowLsn >= frames.get(index - 1).lsn(), where(index) + ": row LSNs never go back");
            }
            if (open != null && !(message instanceof Commit)) {
                assertTrue(rowLsn >= open.beginRowLsn && rowLsn <= open.begin.finalLsn().asLong(),
                        where(index) + ": row LSN " + hex(rowLsn) + " lies within its transaction");
            }
            assertEquals(Character.valueOf(frames.get(index).type()), Character.valueOf(typeByte(message)),
                    where(index) + ": message type byte");
            return type.cast(message);
        }

        Txn begin() {
            return begin(null);
        }

        /** @param commitTime the exact commit time expected, or null for "within the window" */
        Txn begin(Instant commitTime) {
            assertNull(open, scenario + ": Begin inside an open transaction");
            int index = next;
            Begin begin = next(Begin.class);
            long rowLsn = frames.get(index).lsn();
            assertNotEquals(0, begin.xid(), where(index) + ": xid");
            long xid = Integer.toUnsignedLong(begin.xid());
            assertTrue(xid > lastXid, where(index) + ": xids grow");
            assertTrue(xids.add(begin.xid()), where(index) + ": xid is new");
            lastXid = xid;
            // pgoutput sends Begin lazily with the transaction's first change, so the Begin row has
            // that change's LSN; a message-only transaction's message ends right at the commit record.
            assertTrue(rowLsn <= begin.finalLsn().asLong(), where(index) + ": Begin row LSN " + hex(rowLsn)
                    + " is not after the commit LSN " + begin.finalLsn().asString());
            if (commitTime != null) {
                assertEquals(commitTime, begin.commitTime(), where(index) + ": commit time");
            } else {
                assertTrue(window.contains(begin.commitTime()), where(index) + ": commit time "
                        + begin.commitTime() + " is not within " + window);
            }
            open = new Txn(begin, rowLsn);
            return open;
        }

        Commit commit(Txn txn) {
            assertTrue(open == txn, scenario + ": Commit of the open transaction");
            int index = next;
            Commit commit = next(Commit.class);
            assertEquals(0, commit.flags(), where(index) + ": flags");
            assertEquals(txn.begin.finalLsn(), commit.commitLsn(),
                    where(index) + ": Begin.finalLsn == Commit.commitLsn");
            assertTrue(commit.endLsn().asLong() > commit.commitLsn().asLong(), where(index) + ": endLsn "
                    + commit.endLsn().asString() + " > commitLsn " + commit.commitLsn().asString());
            assertEquals(txn.begin.commitTime(), commit.commitTime(), where(index) + ": commit time as in Begin");
            assertEquals(commit.endLsn().asLong(), frames.get(index).lsn(),
                    where(index) + ": the Commit row's LSN is the end LSN");
            open = null;
            return commit;
        }

        Type type(String namespace, String name) {
            int index = next;
            Type type = next(Type.class);
            assertEquals(namespace, type.namespace(), where(index) + ": type namespace");
            assertEquals(name, type.name(), where(index) + ": type name");
            assertTrue(Integer.toUnsignedLong(type.typeOid()) >= FIRST_NORMAL_OID, where(index) + ": user type OID");
            types.put(type.typeOid(), type);
            return type;
        }

        /** Expects a Relation equal to {@code expected} apart from its id, which must be a user OID. */
        Relation relation(Relation expected) {
            int index = next;
            Relation relation = next(Relation.class);
            assertTrue(Integer.toUnsignedLong(relation.relationId()) >= FIRST_NORMAL_OID,
                    where(index) + ": relation id");
            assertEquals(expected.namespace(), relation.namespace(), where(index) + ": namespace");
            assertEquals(expected.name(), relation.name(), where(index) + ": name");
            assertEquals(expected.replicaIdentity(), relation.replicaIdentity(), where(index) + ": replica identity");
            assertEquals(expected.columns(), relation.columns(), where(index) + ": columns");
            for (Column column : relation.columns()) {
                if (Integer.toUnsignedLong(column.typeOid()) >= FIRST_NORMAL_OID) {
                    assertTrue(types.containsKey(column.typeOid()), where(index) + ": a Type message precedes column "
                            + column.name() + "'s type " + column.typeOid());
                }
            }
            Relation known = relations.get(relation.relationId());
            if (known != null) {
                assertEquals(known, relation, where(index) + ": a resent Relation is unchanged");
            }
            relations.put(relation.relationId(), relation);
            return relation;
        }

        Insert insert(Relation relation, Object... values) {
            int index = next;
            Insert insert = next(Insert.class);
            assertAnnounced(relation, insert.relationId(), index);
            assertTuple(values, insert.newTuple(), where(index) + " new tuple");
            return insert;
        }

        TupleData update(Relation relation, OldTupleKind oldKind, Object[] oldValues, Object[] newValues) {
            int index = next;
            Update update = next(Update.class);
            assertAnnounced(relation, update.relationId(), index);
            assertEquals(oldKind, update.oldKind(), where(index) + ": old tuple kind");
            if (oldValues == null) {
                assertNull(update.oldTuple(), where(index) + ": no old tuple");
            } else {
                assertTuple(oldValues, update.oldTuple(), where(index) + " old tuple");
            }
            assertTuple(newValues, update.newTuple(), where(index) + " new tuple");
            return update.newTuple();
        }

        Delete delete(Relation relation, OldTupleKind oldKind, Object[] oldValues) {
            int index = next;
            Delete delete = next(Delete.class);
            assertAnnounced(relation, delete.relationId(), index);
            assertEquals(oldKind, delete.oldKind(), where(index) + ": old tuple kind");
            assertTuple(oldValues, delete.oldTuple(), where(index) + " old tuple");
            return delete;
        }

        Truncate truncate(List<Relation> truncated, boolean cascade, boolean restartIdentity) {
            int index = next;
            Truncate truncate = next(Truncate.class);
            List<Integer> ids = new ArrayList<>();
            for (Relation relation : truncated) {
                ids.add(relation.relationId());
                assertTrue(relations.containsKey(relation.relationId()),
                        where(index) + ": " + relation.name() + " announced");
            }
            assertEquals(ids, truncate.relationIds(), where(index) + ": relation ids");
            assertEquals(cascade, truncate.cascade(), where(index) + ": CASCADE");
            assertEquals(restartIdentity, truncate.restartIdentity(), where(index) + ": RESTART IDENTITY");
            return truncate;
        }

        LogicalMessage message(boolean transactional, String prefix, byte[] content) {
            int index = next;
            LogicalMessage message = next(LogicalMessage.class);
            assertEquals(transactional, message.transactional(), where(index) + ": transactional");
            assertEquals(transactional, open != null,
                    where(index) + ": transactional messages come inside Begin/Commit");
            assertEquals(prefix, message.prefix(), where(index) + ": prefix");
            assertArrayEquals(content, message.content(), where(index) + ": content");
            assertEquals(message.lsn().asLong(), frames.get(index).lsn(), where(index) + ": message LSN is the row's");
            return message;
        }

        private void assertAnnounced(Relation expected, int relationId, int index) {
            assertEquals(expected.relationId(), relationId, where(index) + ": relation id");
            assertTrue(relations.containsKey(relationId), where(index) + ": its Relation was sent in this session");
        }

        void end() {
            assertNull(open, scenario + ": a transaction was left open");
            assertEquals(messages.size(), next, scenario + ": unexpected messages from index " + next + ": "
                    + messages.subList(Math.min(next, messages.size()), messages.size()));
        }
    }

    static char typeByte(PgOutputMessage message) {
        if (message instanceof Begin) {
            return 'B';
        } else if (message instanceof Commit) {
            return 'C';
        } else if (message instanceof Origin) {
            return 'O';
        } else if (message instanceof Relation) {
            return 'R';
        } else if (message instanceof Type) {
            return 'Y';
        } else if (message instanceof Insert) {
            return 'I';
        } else if (message instanceof Update) {
            return 'U';
        } else if (message instanceof Delete) {
            return 'D';
        } else if (message instanceof Truncate) {
            return 'T';
        } else if (message instanceof LogicalMessage) {
            return 'M';
        }
        throw new AssertionError("unknown message " + message);
    }

    private static String hex(long lsn) {
        return LogSequenceNumber.valueOf(lsn).asString();
    }

    private static String bigText() {
        Random random = new Random(20_261_124L);
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder text = new StringBuilder(12_000);
        for (int i = 0; i < 12_000; i++) {
            text.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return text.toString();
    }
}
