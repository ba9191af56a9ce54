package io.pgrelay.decode;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgrelay.fuzz.Fuzz;
import io.pgrelay.fuzz.Mutator;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Mutations of every captured pgoutput message (src/test/resources/pgoutput) into the decoder:
 * a message or MalformedMessageException, nothing else, and no allocation beyond the input's
 * size (lengths are checked against what remains before anything is allocated).
 */
@Timeout(120)
class PgOutputDecoderFuzzTest {

    private static final List<String> SCENARIOS = List.of("insert", "update_full", "delete_full", "delete_key", "truncate",
            "types", "message", "origin", "unicode_names");

    @Test
    void mutatedMessagesDecodeOrFailAsMalformed() {
        List<byte[]> corpus = new ArrayList<>();
        for (String scenario : SCENARIOS) {
            for (PgOutputFixtureFile.Frame frame : PgOutputFixtureFile.readResource(scenario)) {
                corpus.add(frame.data());
            }
        }
        Random random = new Random(Fuzz.seed());
        Mutator mutator = new Mutator(random);
        PgOutputDecoder decoder = new PgOutputDecoder();
        int iterations = Fuzz.iterations(100_000);
        int decoded = 0;
        int malformed = 0;
        long largest = 0;
        for (int i = 0; i < iterations; i++) {
            byte[] input = mutator.mutate(corpus.get(random.nextInt(corpus.size())), corpus.get(random.nextInt(corpus.size())));
            long before = Fuzz.allocatedBytes();
            try {
                decoder.decode(ByteBuffer.wrap(input));
                decoded++;
            } catch (MalformedMessageException e) {
                malformed++;
            } catch (RuntimeException | Error e) {
                throw new AssertionError("input " + i + " (seed " + Fuzz.seed() + ") escaped with " + e + ": " + Fuzz.hex(input), e);
            }
            long allocated = Fuzz.allocatedBytes() - before;
            largest = Math.max(largest, allocated);
            if (allocated > 256 * 1024 + 16L * input.length) {
                fail("input " + i + " allocated " + allocated + " bytes for " + input.length + " bytes of input: " + Fuzz.hex(input));
            }
        }
        Fuzz.report("PgOutputDecoder", iterations, decoded + " decoded, " + malformed + " malformed, " + corpus.size()
                + " captured messages as seeds, largest allocation " + largest + " bytes");
        assertTrue(malformed > iterations / 10 && decoded > 0, decoded + " decoded, " + malformed + " malformed");
    }
}
