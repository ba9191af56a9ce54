package io.pgrelay.schema;

import static io.pgrelay.it.Eventually.assertReplicated;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.RelayRunner;
import io.pgrelay.it.ReplicationPair;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The upstream's table changes while the relay streams: a new column stops the relay with one
 * line naming table, column, type and fix (or, with schema.add-columns=true, appears downstream
 * and data flows); a changed type or a dropped column stops it too. Stopping keeps the last good
 * checkpoint: once the downstream is fixed, the relay resumes and nothing is lost.
 */
@Timeout(240)
class SchemaDriftIT {

    private static final Duration CATCH_UP = Duration.ofSeconds(30);
    private static final Duration EXIT = Duration.ofSeconds(30);
    private static ReplicationPair pair;

    @BeforeAll
    static void startClusters() throws Exception {
        pair = ReplicationPair.start("drift");
    }

    @AfterAll
    static void stopClusters() {
        if (pair != null) {
            pair.close();
        }
    }

    @Test
    void anAddedColumnStopsTheRelayNamingTheFixAndNothingIsLostOnceItIsAdded() throws Exception {
        table("added", "CREATE TABLE added (id int PRIMARY KEY, v text)");
        try (RelayRunner relay = relay("added", false)) {
            pair.upstream("INSERT INTO added VALUES (1, 'before')");
            assertReplicated(pair, "SELECT * FROM added ORDER BY id", CATCH_UP);

            pair.upstream("ALTER TABLE added ADD COLUMN note varchar(40)", "INSERT INTO added VALUES (2, 'after', 'hello')");
            assertEquals(1, relay.awaitExit(EXIT), "exit code");
            String failure = oneLine(relay.failure());
            assertTrue(failure.contains("table public.added: upstream column \"note\" (character varying(40)) is missing "
                    + "downstream; add it (ALTER TABLE \"public\".\"added\" ADD COLUMN \"note\" character varying(40)) "
                    + "or set schema.add-columns=true"), failure);
        }
        assertEquals(List.of(List.of("1", "before")), pair.downstreamRows("SELECT * FROM added ORDER BY id"),
                "stopped at the last good checkpoint");

        pair.downstream("ALTER TABLE \"public\".\"added\" ADD COLUMN \"note\" character varying(40)");
        try (RelayRunner relay = relay("added", false)) {
            assertReplicated(pair, "SELECT * FROM added ORDER BY id", CATCH_UP);
        }
        assertEquals(List.of(List.of("2", "after", "hello")), pair.downstreamRows("SELECT * FROM added WHERE id = 2"));
    }

    @Test
    void withAddColumnsNewColumnsAppearDownstreamNullableAndDataFlows() throws Exception {
        pair.schema("CREATE SCHEMA paint", "CREATE TYPE paint.hue AS ENUM ('red', 'green')");
        table("grows", "CREATE TABLE grows (id int PRIMARY KEY, v text)");
        try (RelayRunner relay = relay("grows", true)) {
            pair.upstream("INSERT INTO grows VALUES (1, 'before')");
            assertReplicated(pair, "SELECT * FROM grows ORDER BY id", CATCH_UP);

            pair.upstream("ALTER TABLE grows ADD COLUMN amount numeric(10, 2) NOT NULL DEFAULT 0, "
                            + "ADD COLUMN color paint.hue, ADD COLUMN colors paint.hue[], ADD COLUMN tags text[]",
                    "INSERT INTO grows VALUES (2, 'after', 12.5, 'green', '{red,green}', '{a,b}')",
                    "UPDATE grows SET amount = 3 WHERE id = 1");
            assertReplicated(pair, "SELECT id, v, amount, color, colors, tags FROM grows ORDER BY id", CATCH_UP);
            assertFalse(relay.hasExited(), "relay stopped: " + relay.failure());
        }
        assertEquals(List.of(
                        List.of("amount", "numeric(10,2)", "f"), List.of("color", "paint.hue", "f"),
                        List.of("colors", "paint.hue[]", "f"), List.of("tags", "text[]", "f")),
                pair.downstreamRows("SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
                        + "WHERE attrelid = 'grows'::regclass AND attnum > 2 ORDER BY attnum"),
                "added with the upstream's types, nullable");
    }

    @Test
    void aChangedTypeStopsTheRelayEvenWithAddColumns() throws Exception {
        table("retyped", "CREATE TABLE retyped (id int PRIMARY KEY, qty int)");
        try (RelayRunner relay = relay("retyped", true)) {
            pair.upstream("INSERT INTO retyped VALUES (1, 1)");
            assertReplicated(pair, "SELECT * FROM retyped ORDER BY id", CATCH_UP);

            pair.upstream("ALTER TABLE retyped ALTER COLUMN qty TYPE bigint", "INSERT INTO retyped VALUES (2, 5000000000)");
            assertEquals(1, relay.awaitExit(EXIT), "exit code");
            String failure = oneLine(relay.failure());
            assertTrue(failure.contains("table public.retyped: upstream column \"qty\" is bigint but downstream it is "
                    + "integer; change it (ALTER TABLE \"public\".\"retyped\" ALTER COLUMN \"qty\" TYPE bigint)"), failure);
        }
        assertEquals(List.of(List.of("1", "1")), pair.downstreamRows("SELECT * FROM retyped ORDER BY id"));

        pair.downstream("ALTER TABLE retyped ALTER COLUMN qty TYPE bigint");
        try (RelayRunner relay = relay("retyped", true)) {
            assertReplicated(pair, "SELECT * FROM retyped ORDER BY id", CATCH_UP);
        }
    }

    @Test
    void aDroppedColumnStopsTheRelayNamingIt() throws Exception {
        table("shrinks", "CREATE TABLE shrinks (id int PRIMARY KEY, v text, gone text)");
        try (RelayRunner relay = relay("shrinks", false)) {
            pair.upstream("INSERT INTO shrinks VALUES (1, 'a', 'x')");
            assertReplicated(pair, "SELECT * FROM shrinks ORDER BY id", CATCH_UP);

            pair.upstream("ALTER TABLE shrinks DROP COLUMN gone", "INSERT INTO shrinks VALUES (2, 'b')");
            assertEquals(1, relay.awaitExit(EXIT), "exit code");
            String failure = oneLine(relay.failure());
            assertTrue(failure.contains("table public.shrinks: upstream column \"gone\" was dropped but the downstream "
                    + "still has it; drop it there (ALTER TABLE \"public\".\"shrinks\" DROP COLUMN \"gone\")"), failure);
        }
        assertEquals(List.of(List.of("1")), pair.downstreamRows("SELECT id FROM shrinks ORDER BY id"));

        pair.downstream("ALTER TABLE shrinks DROP COLUMN gone");
        try (RelayRunner relay = relay("shrinks", false)) {
            assertReplicated(pair, "SELECT * FROM shrinks ORDER BY id", CATCH_UP);
        }
    }

    /** The same table on both sides, and a publication of it named after it. */
    private static void table(String name, String ddl) throws Exception {
        pair.schema(ddl);
        pair.upstream("CREATE PUBLICATION " + name + "_pub FOR TABLE " + name);
    }

    private static RelayRunner relay(String table, boolean addColumns) throws Exception {
        Properties properties = pair.properties(table + "_slot", table + "_pub");
        properties.setProperty("schema.add-columns", Boolean.toString(addColumns));
        RelayRunner relay = RelayRunner.start(pair.config(properties));
        relay.awaitStreaming(Duration.ofSeconds(30));
        return relay;
    }

    private static String oneLine(String failure) {
        assertTrue(failure != null && !failure.isEmpty(), "the relay must say why it stopped");
        assertFalse(failure.contains("\n"), "one line: " + failure);
        return failure;
    }
}
