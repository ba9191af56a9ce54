package io.pgrelay.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Tag("unit")
@Timeout(5)
class SuggestionsTest {

    @Test
    void levenshteinDistance() {
        assertEquals(0, Suggestions.distance("slot", "slot"));
        assertEquals(1, Suggestions.distance("slot", "slott"));
        assertEquals(1, Suggestions.distance("slot", "slit"));
        assertEquals(3, Suggestions.distance("kitten", "sitting"));
        assertEquals(4, Suggestions.distance("", "abcd"));
    }

    @Test
    void suggestsOnlyCloseNames() {
        List<String> known = List.of("upstream.slot", "upstream.user", "downstream.user");
        assertEquals(Optional.of("upstream.slot"), Suggestions.closest("upstream.slott", known));
        assertEquals(Optional.of("downstream.user"), Suggestions.closest("downstrem.usr", known));
        assertEquals(Optional.empty(), Suggestions.closest("upstream.publications", known));
    }
}
