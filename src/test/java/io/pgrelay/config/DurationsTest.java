package io.pgrelay.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Tag("unit")
@Timeout(5)
class DurationsTest {

    @Test
    void parsesEveryForm() {
        assertEquals(Duration.ofMillis(500), Durations.parse("500ms"));
        assertEquals(Duration.ofSeconds(10), Durations.parse("10s"));
        assertEquals(Duration.ofMinutes(2), Durations.parse("2m"));
        assertEquals(Duration.ofHours(1), Durations.parse("1h"));
        assertEquals(Duration.ofSeconds(30), Durations.parse("30"), "a bare number is seconds");
        assertEquals(Duration.ZERO, Durations.parse("0"));
        assertEquals(Duration.ofSeconds(5), Durations.parse(" 5S "), "blanks and case do not matter");
    }

    @Test
    void refusesAnythingElse() {
        for (String bad : new String[] {"", "s", "1.5s", "-1s", "10 s", "1d", "PT10S", "1h30m", "10sec",
            "999999999999999999h"}) {
            assertThrows(IllegalArgumentException.class, () -> Durations.parse(bad), bad);
        }
    }

    @Test
    void formatsInTheLargestExactUnit() {
        assertEquals("500ms", Durations.format(Duration.ofMillis(500)));
        assertEquals("1500ms", Durations.format(Duration.ofMillis(1500)));
        assertEquals("10s", Durations.format(Duration.ofSeconds(10)));
        assertEquals("90s", Durations.format(Duration.ofSeconds(90)));
        assertEquals("2m", Durations.format(Duration.ofMinutes(2)));
        assertEquals("1h", Durations.format(Duration.ofMinutes(60)));
        assertEquals("0s", Durations.format(Duration.ZERO));
    }

    @Test
    void formatReadsBack() {
        for (String text : new String[] {"100ms", "1s", "59s", "61m", "25h"}) {
            assertEquals(text, Durations.format(Durations.parse(text)));
        }
    }
}
