package io.pgrelay.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(5)
class CopyTextTest {

    private static String row(String... values) {
        return new String(CopyText.row(values), StandardCharsets.UTF_8);
    }

    @Test
    void separatesWithTabsAndEndsWithANewline() {
        assertEquals("1\tabc\n", row("1", "abc"));
    }

    @Test
    void nullIsBackslashNAndTheEmptyStringStaysEmpty() {
        assertEquals("\\N\t\t\\\\N\n", row(null, "", "\\N"));
    }

    @Test
    void escapesTheFourReservedCharactersAndKeepsEverythingElse() {
        assertEquals("a\\\\b\\nc\\rd\\te 😀 \"'\n", row("a\\b\nc\rd\te 😀 \"'"));
    }

    @Test
    void aValueOfBackslashDotIsNotTheEndMarker() {
        assertEquals("\\\\.\n", row("\\."));
    }
}
