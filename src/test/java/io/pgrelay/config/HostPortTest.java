package io.pgrelay.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Tag("unit")
@Timeout(5)
class HostPortTest {

    @Test
    void parsesHostNamesAndAddresses() {
        assertEquals(new HostPort("127.0.0.1", 9187), HostPort.parse("127.0.0.1:9187"));
        assertEquals(new HostPort("db-1.internal", 1), HostPort.parse("db-1.internal:1"));
        assertEquals(new HostPort("::1", 65535), HostPort.parse("[::1]:65535"));
        assertEquals("[::1]:65535", HostPort.parse("[::1]:65535").toString());
    }

    @Test
    void refusesMalformedAddresses() {
        for (String bad : new String[] {"", "host", ":80", "host:", "host:65536", "host:08x",
            "::1:80", "[::1]", "ho st:80", "-host:80"}) {
            assertThrows(IllegalArgumentException.class, () -> HostPort.parse(bad), bad);
        }
    }
}
