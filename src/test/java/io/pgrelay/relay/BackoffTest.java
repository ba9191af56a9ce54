package io.pgrelay.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(5)
class BackoffTest {

    @Test
    void doublesUpToTheCapAndStartsOverAfterReset() {
        Backoff backoff = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(1));
        assertEquals(200, backoff.next().toMillis());
        assertEquals(400, backoff.next().toMillis());
        assertEquals(800, backoff.next().toMillis());
        assertEquals(1000, backoff.next().toMillis());
        for (int i = 0; i < 100; i++) {
            assertEquals(1000, backoff.next().toMillis(), "no overflow after many attempts");
        }
        assertEquals(104, backoff.attempts());
        backoff.reset();
        assertEquals(200, backoff.next().toMillis());
    }
}
