package io.pgrelay.feed;

import io.pgrelay.feed.wire.WireWriter;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.postgresql.replication.LogSequenceNumber;

/**
 * The one query a feed answers about its slots, as {@code pgrelay slot list} sends it to a
 * running relay. The text is valid PostgreSQL too (a walsender in {@code replication=database}
 * mode runs it against {@code pg_replication_slots}), so the client needs no special case; the
 * feed recognises it in a fixed form (case and whitespace free) and answers from its
 * {@link FeedSlots}: {@code wal_status} is {@code lost} or {@code reserved}, {@code active}
 * says whether a session streams the slot, and {@code lag_bytes} is how far the slot's
 * confirmed position is behind the end of the changelog (never negative).
 */
public final class SlotListQuery {

    /** Exactly what the client sends. */
    public static final String SQL = "SELECT slot_name, confirmed_flush_lsn, active, wal_status, temporary, "
            + "pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) AS lag_bytes FROM pg_replication_slots";

    /** Column names, in order. */
    public static final List<String> COLUMNS =
            List.of("slot_name", "confirmed_flush_lsn", "active", "wal_status", "temporary", "lag_bytes");

    private static final int BOOL = 16;
    private static final String CATALOG = "(?:pg_catalog\\s*\\.\\s*)?";
    private static final Pattern PATTERN = Pattern.compile("(?is)SELECT\\s+slot_name\\s*,\\s*confirmed_flush_lsn\\s*,"
            + "\\s*active\\s*,\\s*wal_status\\s*,\\s*temporary\\s*,\\s*"
            + CATALOG + "pg_wal_lsn_diff\\s*\\(\\s*" + CATALOG + "pg_current_wal_lsn\\s*\\(\\s*\\)\\s*,\\s*confirmed_flush_lsn\\s*\\)"
            + "\\s+AS\\s+lag_bytes\\s+FROM\\s+" + CATALOG + "pg_replication_slots\\s*;?\\s*");

    private SlotListQuery() {}

    /** True for {@link #SQL}, whatever its case and whitespace. */
    public static boolean matches(String query) {
        return PATTERN.matcher(query).matches();
    }

    /**
     * Writes the whole answer (RowDescription, one DataRow per slot, CommandComplete).
     *
     * @param changelogEnd the changelog's end, as slots are created at it
     * @param streaming    whether a session streams the named slot ({@link FeedServer#isStreaming})
     */
    public static void write(List<FeedSlot> slots, long changelogEnd, Predicate<String> streaming, WireWriter out)
            throws IOException {
        out.rowDescription(FeedSession.fields("slot_name", WireWriter.TEXT, "confirmed_flush_lsn", WireWriter.TEXT,
                "active", BOOL, "wal_status", WireWriter.TEXT, "temporary", BOOL, "lag_bytes", WireWriter.INT8));
        for (FeedSlot slot : slots) {
            out.dataRow(row(slot, changelogEnd, streaming.test(slot.name())));
        }
        out.commandComplete("SELECT " + slots.size());
    }

    /** One slot's row, as text values. */
    static List<String> row(FeedSlot slot, long changelogEnd, boolean active) {
        return Arrays.asList(slot.name(), LogSequenceNumber.valueOf(slot.confirmedLsn()).asString(), bool(active),
                slot.lost() ? "lost" : "reserved", bool(slot.temporary()),
                Long.toString(lagBytes(slot.confirmedLsn(), changelogEnd)));
    }

    /** Bytes from {@code confirmed} to {@code end}; 0 when the slot is at or past the end. */
    public static long lagBytes(long confirmed, long end) {
        return Long.compareUnsigned(end, confirmed) > 0 ? end - confirmed : 0;
    }

    private static String bool(boolean value) {
        return value ? "t" : "f";
    }
}
