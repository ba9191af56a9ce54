package io.pgrelay.apply;

import static io.pgrelay.it.Eventually.assertReplicated;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgrelay.it.RelayRunner;
import io.pgrelay.it.TypeZoo;
import io.pgrelay.it.ReplicationPair;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every built-in type family, and its awkward values, must arrive byte-for-byte: values travel
 * as pgoutput text and are bound with unspecified type, so the downstream's input functions
 * parse exactly what the upstream's output functions printed.
 */
@Timeout(120)
class TypeZooIT {

    private static final Duration CATCH_UP = Duration.ofSeconds(30);
    private static ReplicationPair pair;

    @BeforeAll
    static void startClusters() throws Exception {
        pair = ReplicationPair.start("zoo");
        pair.schema(TypeZoo.TYPES);
        pair.upstream("CREATE PUBLICATION zoo_pub FOR TABLE zoo");
    }

    @AfterAll
    static void stopClusters() {
        if (pair != null) {
            pair.close();
        }
    }

    @Test
    void everyTypeRoundTripsExactly() throws Exception {
        try (RelayRunner relay = RelayRunner.start(pair.config(pair.properties("zoo_slot", "zoo_pub")))) {
            relay.awaitStreaming(Duration.ofSeconds(30));
            pair.upstream(TypeZoo.workload());
            assertReplicated(pair, TypeZoo.SELECT, CATCH_UP);
            List<List<String>> rows = pair.downstreamRows("SELECT count(*) FROM zoo");
            assertEquals("5", rows.get(0).get(0), "rows 1, 2, 3, 101, 103 remain");
        }
    }

    @Test
    void textWithEveryByteThatNeedsEscapingRoundTrips() throws Exception {
        pair.schema("CREATE TABLE texts (id int PRIMARY KEY, v text)");
        pair.upstream("CREATE PUBLICATION texts_pub FOR TABLE texts");
        try (RelayRunner relay = RelayRunner.start(pair.config(pair.properties("texts_slot", "texts_pub")))) {
            relay.awaitStreaming(Duration.ofSeconds(30));
            // Every code point 1..2000 (NUL is not valid in text), plus astral-plane characters.
            pair.upstream("INSERT INTO texts SELECT g, chr(g) || repeat(chr(g), g % 3) FROM generate_series(1, 2000) g",
                    "INSERT INTO texts VALUES (5000, '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🚀🎉 \\N NULL null ''\"\\\\')");
            assertReplicated(pair, "SELECT id, v, md5(v) FROM texts ORDER BY id", CATCH_UP);
        }
    }
}
