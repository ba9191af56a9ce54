package io.pgrelay.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Tag("unit")
@Timeout(5)
class MaskingTest {

    @Test
    void masksPasswordQueryParameterInAnyCase() {
        assertEquals("jdbc:postgresql://h/db?user=a&password=*****",
                Masking.maskUrl("jdbc:postgresql://h/db?user=a&password=x"));
        assertEquals("jdbc:postgresql://h/db?PASSWORD=*****&ssl=true",
                Masking.maskUrl("jdbc:postgresql://h/db?PASSWORD=s3cr#t;x&ssl=true"));
        assertEquals("jdbc:postgresql://h/db?Password=*****",
                Masking.maskUrl("jdbc:postgresql://h/db?Password="));
    }

    @Test
    void masksOtherPasswordParameters() {
        assertEquals("jdbc:postgresql://h/db?sslmode=verify-full&sslpassword=*****",
                Masking.maskUrl("jdbc:postgresql://h/db?sslmode=verify-full&sslpassword=keypass"));
    }

    @Test
    void masksUserInfoPassword() {
        assertEquals("jdbc:postgresql://bob:*****@h:5432/db",
                Masking.maskUrl("jdbc:postgresql://bob:pa@ss:w0rd@h:5432/db"));
        assertEquals("jdbc:postgresql://bob:*****@h/db?password=*****",
                Masking.maskUrl("jdbc:postgresql://bob:x@h/db?password=y"));
    }

    @Test
    void leavesUrlsWithoutPasswordAlone() {
        for (String url : new String[] {
            "jdbc:postgresql://h:5432/db",
            "jdbc:postgresql://bob@h/db",
            "jdbc:postgresql://h:5432/db?user=me@corp.example&ssl=true",
            "jdbc:postgresql://h1:5432,h2:5433/db?targetServerType=primary",
            "not a url"}) {
            assertEquals(url, Masking.maskUrl(url));
        }
        assertNull(Masking.maskUrl(null));
    }

    @Test
    void secretToStringMasks() {
        assertEquals("*****", Secret.of("x").toString());
        assertEquals("", Secret.none().toString());
    }
}
