package io.pgrelay.apply;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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

    @Test
    void encodesLikeStringGetBytesForEveryWidthAndUnpairedSurrogates() {
        String[] values = {"é ß", "€ 中文", "😀x😀", "lone \uD800 high", "lone \uDC00 low", "end \uD83D"};
        for (String value : values) {
            assertArrayEquals((value + "\n").getBytes(StandardCharsets.UTF_8), CopyText.row(new String[] {value}), value);
        }
    }

    @Test
    void theReusedBufferGrowsForAWideRowAndStaysCorrectForTheNext() {
        CopyText text = new CopyText();
        String wide = "ü\t".repeat(1000);
        int length = text.encode(new String[] {wide, null});
        assertEquals(wide.replace("\t", "\\t") + "\t\\N\n", new String(text.bytes(), 0, length, StandardCharsets.UTF_8));
        length = text.encode(new String[] {"a", "b"});
        assertEquals("a\tb\n", new String(text.bytes(), 0, length, StandardCharsets.UTF_8));
    }
}
