package io.pgrelay.decode;

import io.pgrelay.decode.PgOutputFixtureFile.Frame;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.postgresql.replication.LogSequenceNumber;

final class PgOutputScenarios {
    static final List<String> NAMES = List.of("insert", "types", "unicode_names", "update_plain", "update_key",
            "update_full", "update_index", "update_toast", "delete_key", "delete_full", "truncate", "message", "origin");
    static final String TRICKY_TEXT = "it's \"quoted\" \\back\\slash\\ and\nnewline\ttab 🐘 üñí €";
    static final String TRICKY_NOTE = "line1\r\nline2 \\N '' \\x00";
    static final List<List<String>> ITEM_ROWS = List.of(
            Arrays.asList("1", "plain", "first", "t", "10", "1.50", "a1"),
            Arrays.asList("2", TRICKY_TEXT, TRICKY_NOTE, "f", "-9223372036854775808", "-0.01", "b2"),
            Arrays.asList("3", "nulls", null, null, null, null, null));
    static final String UNICODE_SCHEMA = "Sch€ma";
    static final String UNICODE_TABLE = "MixedCase_Tábla";
    static final List<String> UNICODE_COLUMNS = List.of("Id", "Größe", "camelCase");
    static final List<String> UNICODE_ROW = List.of("1", "groß 🐘", "Value");
    static final String BIG_TEXT = bigText();
    static final String MESSAGE_PREFIX = "pgrelay";
    static final String NON_TRANSACTIONAL_CONTENT = "non-transactional ✓";
    static final String ORIGIN_NAME = "o1";
    static final long ORIGIN_LSN = 0xABCDEFL;
    static final Instant ORIGIN_TIMESTAMP = Instant.parse("2001-02-03T04:05:06.789012Z");

    record Window(Instant from, Instant to) {}

    static void check(String name, List<Frame> frames, Window window) {
        PgOutputDecoder decoder = new PgOutputDecoder();
        System.out.println("== " + name);
        for (Frame f : frames) {
            PgOutputMessage m = decoder.decode(f.buffer());
            String s = m.toString();
            System.out.println("  " + LogSequenceNumber.valueOf(f.lsn()).asString() + " " + (s.length() > 300 ? s.substring(0, 300) : s));
        }
    }

    private static String bigText() {
        Random random = new Random(20261124L);
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder text = new StringBuilder(12_000);
        for (int i = 0; i < 12_000; i++) {
            text.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return text.toString();
    }
}
