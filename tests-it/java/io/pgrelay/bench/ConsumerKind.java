package io.pgrelay.bench;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The single-tier consumers of a catch-up, in their default order; {@code -Dbench.consumers=} picks some by id. */
enum ConsumerKind {
    NATIVE("native", "native, CREATE SUBSCRIPTION defaults"),
    NATIVE_SYNC("native-sync", "native, synchronous_commit=on"),
    RECVLOGICAL("recvlogical", "pg_recvlogical -> /dev/null"),
    DECODE("decode", "in-backend decode (pg_logical_slot_get_binary_changes)"),
    PGRELAY("pgrelay", "pgrelay (as bin/pgrelay runs it: -Xmx256m, quick JIT, class-data archive; start-up included)"),
    PGRELAY_PARALLEL("pgrelay-parallel", "pgrelay, apply.workers=4 (parallel apply)"),
    PGRELAY_C2("pgrelay-c2", "pgrelay with both JITs (-XX:TieredStopAtLevel=4, the JVM's default)");

    /** The consumers that run pgrelay processes. */
    boolean isPgrelay() {
        return this == PGRELAY || this == PGRELAY_PARALLEL || this == PGRELAY_C2;
    }

    private final String id;
    private final String label;

    ConsumerKind(String id, String label) {
        this.id = id;
        this.label = label;
    }

    String id() {
        return id;
    }

    String label() {
        return label;
    }

    static String allIds() {
        return Arrays.stream(values()).map(ConsumerKind::id).collect(Collectors.joining(","));
    }

    static ConsumerKind byId(String id) {
        for (ConsumerKind kind : values()) {
            if (kind.id.equals(id.toLowerCase(Locale.ROOT))) {
                return kind;
            }
        }
        throw new IllegalArgumentException("bench.consumers: unknown consumer '" + id + "'; use some of " + allIds());
    }
}
