package io.pgrelay.feed.wire;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.fuzz.Fuzz;
import io.pgrelay.fuzz.Mutator;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Mutated SCRAM client messages: the exchange fails with ProtocolException only, never logs in. */
@Timeout(120)
class ScramServerFuzzTest {

    private static final byte[] CLIENT_FIRST = "n,,n=,r=fyko+d2lbbFgONRv9qkxdawL".getBytes(StandardCharsets.UTF_8);
    private static final byte[] CLIENT_FINAL = "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
            .getBytes(StandardCharsets.UTF_8);

    @Test
    void mutatedClientMessagesFailWithProtocolExceptionOnly() {
        ScramServer.Credentials credentials = ScramServer.Credentials.fromPassword("secret");
        Random random = new Random(Fuzz.seed());
        Mutator mutator = new Mutator(random);
        int iterations = Fuzz.iterations(20_000);
        int refused = 0;
        for (int i = 0; i < iterations; i++) {
            byte[] first = random.nextBoolean() ? mutator.mutate(CLIENT_FIRST, CLIENT_FINAL) : CLIENT_FIRST;
            byte[] last = mutator.mutate(CLIENT_FINAL, CLIENT_FIRST);
            ScramServer.Exchange exchange = ScramServer.start(credentials);
            try {
                exchange.serverFirst(first);
                exchange.serverFinal(last);
                throw new AssertionError("a forged SCRAM exchange was accepted: " + Fuzz.hex(last));
            } catch (ProtocolException e) {
                refused++;
            } catch (RuntimeException | Error e) {
                throw new AssertionError("input " + i + " (seed " + Fuzz.seed() + ") escaped with " + e + ": " + Fuzz.hex(first)
                        + " / " + Fuzz.hex(last), e);
            }
        }
        Fuzz.report("ScramServer", iterations, refused + " refused");
        assertTrue(refused == iterations);
    }
}
