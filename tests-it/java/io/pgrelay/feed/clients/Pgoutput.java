package io.pgrelay.feed.clients;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgrelay.decode.PgOutputMessage;
import io.pgrelay.decode.PgOutputMessage.Begin;
import io.pgrelay.decode.PgOutputMessage.Column;
import io.pgrelay.decode.PgOutputMessage.Commit;
import io.pgrelay.decode.PgOutputMessage.Delete;
import io.pgrelay.decode.PgOutputMessage.Insert;
import io.pgrelay.decode.PgOutputMessage.Relation;
import io.pgrelay.decode.PgOutputMessage.Truncate;
import io.pgrelay.decode.PgOutputMessage.Type;
import io.pgrelay.decode.PgOutputMessage.Update;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/** Checks on sequences of pgoutput messages that hold for any correct walsender. */
final class Pgoutput {

    /** Type OIDs below this are built in; pgoutput sends a Type message for the others. */
    static final int FIRST_NORMAL_OBJECT_ID = 16384;

    private Pgoutput() {}

    /** One transaction: its Begin, its Commit and the messages between. */
    record Txn(Begin begin, Commit commit, List<Msg> body) {
        /** The data changes (Insert/Update/Delete/Truncate), without Relation and Type messages. */
        List<PgOutputMessage> changes() {
            return body.stream().filter(m -> !m.isDefinition()).map(Msg::message).collect(Collectors.toList());
        }
    }

    /** Splits a stream into transactions; fails on anything outside Begin…Commit or unbalanced. */
    static List<Txn> transactions(List<Msg> messages) {
        List<Txn> txns = new ArrayList<>();
        Begin begin = null;
        List<Msg> body = null;
        for (Msg m : messages) {
            if (m.message() instanceof Begin b) {
                assertTrue(begin == null, () -> "Begin inside a transaction at " + m);
                begin = b;
                body = new ArrayList<>();
            } else if (m.message() instanceof Commit c) {
                assertTrue(begin != null, () -> "Commit outside a transaction at " + m);
                txns.add(new Txn(begin, c, body));
                begin = null;
            } else {
                if (begin == null) {
                    fail("message outside a transaction: " + m);
                }
                body.add(m);
            }
        }
        return txns;
    }

    /** The Begin and Commit messages only, in order: what invariant 1 is about. */
    static List<PgOutputMessage> boundaries(List<Msg> messages) {
        return messages.stream().map(Msg::message).filter(m -> m instanceof Begin || m instanceof Commit)
                .collect(Collectors.toList());
    }

    /**
     * DESIGN.md invariant 5, as a client sees it: within this session, every change to a relation
     * comes after a Relation message for it, and every Relation with a non-built-in column type
     * comes after a Type message for that type. Returns the relation ids that were described.
     */
    static Set<Integer> assertDefinitionsPrecedeChanges(List<Msg> session, String what) {
        Set<Integer> relations = new HashSet<>();
        Set<Integer> types = new HashSet<>();
        for (int i = 0; i < session.size(); i++) {
            Msg m = session.get(i);
            String where = what + ", message " + i + " (" + m + ")";
            if (m.message() instanceof Type t) {
                types.add(t.typeOid());
            } else if (m.message() instanceof Relation r) {
                for (Column column : r.columns()) {
                    if (column.typeOid() >= FIRST_NORMAL_OBJECT_ID) {
                        assertTrue(types.contains(column.typeOid()), "Relation " + r.qualifiedName()
                                + " uses type " + column.typeOid() + " but no Type message for it came first in this session: "
                                + where);
                    }
                }
                relations.add(r.relationId());
            } else {
                for (int relation : relationIds(m.message())) {
                    assertTrue(relations.contains(relation), "change to relation " + relation
                            + " before any Relation message for it in this session: " + where);
                }
            }
        }
        return relations;
    }

    static List<Integer> relationIds(PgOutputMessage message) {
        if (message instanceof Insert i) {
            return List.of(i.relationId());
        } else if (message instanceof Update u) {
            return List.of(u.relationId());
        } else if (message instanceof Delete d) {
            return List.of(d.relationId());
        } else if (message instanceof Truncate t) {
            return t.relationIds();
        }
        return List.of();
    }

    /** The names of the relations described by Relation messages in the stream. */
    static Set<String> describedRelations(List<Msg> session) {
        return session.stream().map(Msg::message).filter(m -> m instanceof Relation)
                .map(m -> ((Relation) m).name()).collect(Collectors.toSet());
    }

    /** The names of the types described by Type messages in the stream. */
    static Set<String> describedTypes(List<Msg> session) {
        return session.stream().map(Msg::message).filter(m -> m instanceof Type)
                .map(m -> ((Type) m).name()).collect(Collectors.toSet());
    }

    /** Text values of every Insert/Update new tuple, for "did this value arrive" checks. */
    static List<String> insertedTexts(List<Msg> session) {
        List<String> texts = new ArrayList<>();
        for (Msg m : session) {
            if (m.message() instanceof Insert i) {
                for (int c = 0; c < i.newTuple().size(); c++) {
                    texts.add(i.newTuple().text(c));
                }
            }
        }
        return texts;
    }

    /** The last Commit in the stream. */
    static Commit lastCommit(List<Msg> messages) {
        Commit last = null;
        for (Msg m : messages) {
            if (m.message() instanceof Commit c) {
                last = c;
            }
        }
        if (last == null) {
            fail("no Commit in " + messages.size() + " messages");
        }
        return last;
    }

    /** Asserts the same messages in the same order; Relation/Type positions are not compared. */
    static void assertSameStream(List<Msg> expected, List<Msg> actual, String what) {
        assertEquals(expected.stream().map(Msg::message).collect(Collectors.toList()),
                actual.stream().map(Msg::message).collect(Collectors.toList()), what + ": messages differ");
        for (int i = 0; i < expected.size(); i++) {
            if (!expected.get(i).isDefinition()) {
                assertEquals(expected.get(i).lsn(), actual.get(i).lsn(), what + ": position of message " + i + " ("
                        + expected.get(i).message() + ") differs");
            }
        }
    }
}
