package io.pgrelay.changelog;

import java.util.HashMap;
import java.util.Map;

/**
 * The latest Relation ('R') message per relation id and Type ('Y') message per type oid, with the
 * position each was received at. Size is bounded by the number of relations and types, not by
 * the amount of data.
 */
final class Definitions {

    record Definition(long lsn, byte[] message) {}

    final Map<Integer, Definition> relations = new HashMap<>();
    final Map<Integer, Definition> types = new HashMap<>();

    static boolean isDefinition(byte type) {
        return type == RecordFormat.RELATION || type == RecordFormat.TYPE;
    }

    /** Records an 'R' or 'Y' message (at least 5 bytes; the id is at bytes 1..4). */
    void put(long lsn, byte[] message) {
        int id = RecordFormat.getInt(message, 1);
        Definition d = new Definition(lsn, message);
        if (message[0] == RecordFormat.RELATION) {
            relations.put(id, d);
        } else {
            types.put(id, d);
        }
    }

    void putAll(Definitions other) {
        relations.putAll(other.relations);
        types.putAll(other.types);
    }

    void clear() {
        relations.clear();
        types.clear();
    }

    boolean isEmpty() {
        return relations.isEmpty() && types.isEmpty();
    }

    int size() {
        return relations.size() + types.size();
    }

    Definitions copy() {
        Definitions d = new Definitions();
        d.putAll(this);
        return d;
    }
}
