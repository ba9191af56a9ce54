package io.pgrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class SlotFormatTest {

    private static final long LSN = 0x1_6B37_48L; // 0/16B3748

    @Test
    void tableAlignsColumnsAndSaysUnknownWhenStopped() {
        SlotListing listing = new SlotListing(false, "/var/lib/pgrelay", null, LSN + 100, List.of(
                new SlotRow("child_a", LSN, false, null, false, 100),
                new SlotRow("a_much_longer_slot_name", 0, true, null, false, LSN + 100)));
        assertEquals("""
                NAME                     CONFIRMED_LSN  LOST  ACTIVE   LAG_BYTES
                child_a                  0/16B3748      no    unknown  100
                a_much_longer_slot_name  0/0            yes   unknown  23803820
                """, SlotFormat.table(listing));
    }

    @Test
    void tableOfARunningRelayShowsActivityAndTemporarySlots() {
        SlotListing listing = new SlotListing(true, "/d", "127.0.0.1:5433", null, List.of(
                new SlotRow("busy", LSN, false, true, false, 0),
                new SlotRow("idle", LSN, false, false, true, 7)));
        assertEquals("""
                NAME              CONFIRMED_LSN  LOST  ACTIVE  LAG_BYTES
                busy              0/16B3748      no    yes     0
                idle (temporary)  0/16B3748      no    no      7
                """, SlotFormat.table(listing));
    }

    @Test
    void emptyTableIsTheHeaderOnly() {
        assertEquals("NAME  CONFIRMED_LSN  LOST  ACTIVE  LAG_BYTES\n",
                SlotFormat.table(new SlotListing(false, "/d", null, 0L, List.of())));
    }

    @Test
    void jsonOfAStoppedRelay() {
        SlotListing listing = new SlotListing(false, "/var/lib/pgrelay", null, LSN + 100, List.of(
                new SlotRow("child_a", LSN, false, null, false, 100),
                new SlotRow("gone", 0, true, null, false, LSN + 100)));
        assertEquals("{\"relay\":\"stopped\",\"data_dir\":\"/var/lib/pgrelay\",\"feed\":null,"
                + "\"changelog_end_lsn\":\"0/16B37AC\",\"slots\":["
                + "{\"name\":\"child_a\",\"confirmed_lsn\":\"0/16B3748\",\"lost\":false,\"active\":null,\"temporary\":false,\"lag_bytes\":100},"
                + "{\"name\":\"gone\",\"confirmed_lsn\":\"0/0\",\"lost\":true,\"active\":null,\"temporary\":false,\"lag_bytes\":23803820}"
                + "]}\n", SlotFormat.json(listing));
    }

    @Test
    void jsonOfARunningRelay() {
        SlotListing listing = new SlotListing(true, "/d", "[::1]:5433", null, List.of(
                new SlotRow("busy", 0x2_0000_0010L, false, true, true, 0)));
        assertEquals("{\"relay\":\"running\",\"data_dir\":\"/d\",\"feed\":\"[::1]:5433\",\"changelog_end_lsn\":null,"
                + "\"slots\":[{\"name\":\"busy\",\"confirmed_lsn\":\"2/10\",\"lost\":false,\"active\":true,\"temporary\":true,"
                + "\"lag_bytes\":0}]}\n", SlotFormat.json(listing));
    }

    @Test
    void jsonWithoutSlotsHasAnEmptyArray() {
        assertEquals("{\"relay\":\"stopped\",\"data_dir\":\"/d\",\"feed\":null,\"changelog_end_lsn\":\"0/0\",\"slots\":[]}\n",
                SlotFormat.json(new SlotListing(false, "/d", null, 0L, List.of())));
    }

    @Test
    void jsonStringsAreEscaped() {
        assertEquals("\"C:\\\\data \\\"x\\\"\\n\\u0001\"", SlotFormat.string("C:\\data \"x\"\n\u0001"));
        assertEquals("null", SlotFormat.string(null));
        assertEquals("\"dir/ü\"", SlotFormat.string("dir/ü"));
    }
}
