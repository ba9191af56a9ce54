package io.pgrelay.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Tag("unit")
@Timeout(5)
class JdbcUrlsTest {

    @Test
    void takesTheQueryPasswordOutDecoded() {
        JdbcUrls.Split split = JdbcUrls.splitPassword("jdbc:postgresql://h/db?password=p%40ss&user=a");
        assertEquals("jdbc:postgresql://h/db?user=a", split.url());
        assertEquals("p@ss", split.password().reveal());
    }

    @Test
    void dropsTheQueryWhenOnlyThePasswordWasThere() {
        JdbcUrls.Split split = JdbcUrls.splitPassword("jdbc:postgresql://h/db?password=x");
        assertEquals("jdbc:postgresql://h/db", split.url());
        assertEquals("x", split.password().reveal());
    }

    @Test
    void takesTheUserInfoOut() {
        JdbcUrls.Split split = JdbcUrls.splitPassword("jdbc:postgresql://bob:s%2Fcret@h:5432/db?ssl=true");
        assertEquals("jdbc:postgresql://h:5432/db?ssl=true", split.url());
        assertEquals("s/cret", split.password().reveal());
    }

    @Test
    void keepsSslPasswordAndUrlsWithoutPassword() {
        String url = "jdbc:postgresql://h/db?sslpassword=k&user=me@corp.example";
        JdbcUrls.Split split = JdbcUrls.splitPassword(url);
        assertEquals(url, split.url());
        assertTrue(split.password().isEmpty());
    }

    @Test
    void badPortsAreFoundAndGoodUrlsLeftAlone() {
        for (String good : new String[] {"jdbc:postgresql://h/app", "jdbc:postgresql://h:5432/app", "jdbc:postgresql://[::1]/app",
                "jdbc:postgresql://[::1]:6001/app", "jdbc:postgresql://h1:5432,h2:5433/app?sslmode=require",
                "jdbc:postgresql://u:p@h:1/app", "jdbc:postgresql:app", "jdbc:postgresql://h:65535"}) {
            assertEquals(null, JdbcUrls.badPort(good), good);
        }
        assertEquals("99999", JdbcUrls.badPort("jdbc:postgresql://h:99999/app"));
        assertEquals("0", JdbcUrls.badPort("jdbc:postgresql://h1:5432,h2:0/app"));
        assertEquals("x", JdbcUrls.badPort("jdbc:postgresql://h:x/app"));
        assertEquals("", JdbcUrls.badPort("jdbc:postgresql://h:/app"));
    }
}
