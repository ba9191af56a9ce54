package io.pgrelay.cli;

import java.util.ArrayList;
import java.util.List;
import org.postgresql.replication.LogSequenceNumber;

/** The output of {@code pgrelay slot list}: an aligned table, or one JSON document. */
final class SlotFormat {

    static final List<String> HEADER = List.of("NAME", "CONFIRMED_LSN", "LOST", "ACTIVE", "LAG_BYTES");

    private SlotFormat() {}

    /**
     * A header line and one line per slot, columns separated by at least two spaces; ACTIVE is
     * {@code unknown} when the relay is stopped. A temporary slot (only a running relay has them)
     * is marked after its name.
     */
    static String table(SlotListing listing) {
        List<List<String>> lines = new ArrayList<>();
        lines.add(HEADER);
        for (SlotRow row : listing.slots()) {
            lines.add(List.of(row.name() + (row.temporary() ? " (temporary)" : ""), lsn(row.confirmedLsn()),
                    yesNo(row.lost()), row.active() == null ? "unknown" : yesNo(row.active()),
                    Long.toString(row.lagBytes())));
        }
        int[] widths = new int[HEADER.size()];
        for (List<String> line : lines) {
            for (int i = 0; i < line.size(); i++) {
                widths[i] = Math.max(widths[i], line.get(i).length());
            }
        }
        StringBuilder text = new StringBuilder();
        for (List<String> line : lines) {
            for (int i = 0; i < line.size(); i++) {
                String cell = line.get(i);
                text.append(cell);
                if (i < line.size() - 1) {
                    text.append(" ".repeat(widths[i] - cell.length() + 2));
                }
            }
            text.append('\n');
        }
        return text.toString();
    }

    /**
     * One JSON object on one line:
     * <pre>
     * {"relay":"stopped","data_dir":"/var/lib/pgrelay","feed":null,"changelog_end_lsn":"0/16B3748",
     *  "slots":[{"name":"child_a","confirmed_lsn":"0/16B3700","lost":false,"active":null,"temporary":false,"lag_bytes":72}]}
     * </pre>
     * {@code relay} is {@code running} (read from {@code feed}, {@code changelog_end_lsn} null) or
     * {@code stopped} (read from {@code data_dir}, {@code feed} and every {@code active} null).
     */
    static String json(SlotListing listing) {
        StringBuilder json = new StringBuilder("{");
        json.append("\"relay\":").append(string(listing.running() ? "running" : "stopped"));
        json.append(",\"data_dir\":").append(string(listing.dataDir()));
        json.append(",\"feed\":").append(string(listing.feed()));
        json.append(",\"changelog_end_lsn\":").append(listing.changelogEnd() == null ? "null" : string(lsn(listing.changelogEnd())));
        json.append(",\"slots\":[");
        for (int i = 0; i < listing.slots().size(); i++) {
            SlotRow row = listing.slots().get(i);
            json.append(i == 0 ? "" : ",").append('{')
                    .append("\"name\":").append(string(row.name()))
                    .append(",\"confirmed_lsn\":").append(string(lsn(row.confirmedLsn())))
                    .append(",\"lost\":").append(row.lost())
                    .append(",\"active\":").append(row.active() == null ? "null" : row.active().toString())
                    .append(",\"temporary\":").append(row.temporary())
                    .append(",\"lag_bytes\":").append(row.lagBytes())
                    .append('}');
        }
        return json.append("]}\n").toString();
    }

    static String lsn(long value) {
        return LogSequenceNumber.valueOf(value).asString();
    }

    private static String yesNo(boolean value) {
        return value ? "yes" : "no";
    }

    /** A JSON string literal; null for null. */
    static String string(String value) {
        if (value == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder("\"");
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
