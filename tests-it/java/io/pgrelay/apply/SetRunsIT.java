package io.pgrelay.apply;

import static io.pgrelay.it.Eventually.assertReplicated;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.RelayRunner;
import io.pgrelay.it.ReplicationPair;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Runs of updates and deletes by key on an independent table go downstream as one statement over
 * arrays of their values ({@link UnnestStatement}). Every type must arrive exactly as it does row
 * by row (char padding, bit strings, arrays, json, quotes and backslashes, NULL), and a missing
 * row or a value the downstream refuses is named exactly as the row-by-row path names it.
 */
@Timeout(180)
class SetRunsIT {

    private static final Duration CATCH_UP = Duration.ofSeconds(60);
    private static final Duration START = Duration.ofSeconds(30);
    private static final int ROWS = 40;
    private static final String ZOO = "SELECT id, c, vc, b, vb, ints, texts, jb, js, by, num, ts, iv, t, d FROM zoo ORDER BY id";
    private static ReplicationPair pair;

    @BeforeAll
    static void startClusters() throws Exception {
        pair = ReplicationPair.start("setruns");
        pair.schema("CREATE DOMAIN positive AS int CHECK (VALUE > 0)");
    }

    @AfterAll
    static void stopClusters() {
        if (pair != null) {
            pair.close();
        }
    }

    @Test
    void runsOfUpdatesAndDeletesByKeyArriveExactlyAsRowByRow() throws Exception {
        pair.schema("CREATE TABLE zoo (id int PRIMARY KEY, c char(6), vc varchar(12), b bit(4), vb varbit, ints int[],"
                + " texts text[], jb jsonb, js json, by bytea, num numeric(10,2), ts timestamptz, iv interval, t text,"
                + " d positive)");
        pair.upstream("CREATE PUBLICATION zoo FOR TABLE zoo");
        try (RelayRunner relay = relay("zoo")) {
            pair.upstream("INSERT INTO zoo (id, d) SELECT g, g FROM generate_series(1, " + ROWS + ") g");
            assertReplicated(pair, ZOO, CATCH_UP);
            // One transaction updates every row: one run, every column, awkward values.
            pair.upstream("UPDATE zoo SET c = CASE WHEN id % 5 = 0 THEN NULL ELSE 'c' || id END,"
                    + " vc = CASE id % 4 WHEN 0 THEN 'q\"uo\\\\te' WHEN 1 THEN '{a,b}' WHEN 2 THEN 'NULL' ELSE '' END,"
                    + " b = (id % 16)::bit(4), vb = repeat('10', id % 3 + 1)::varbit,"
                    + " ints = ARRAY[id, NULL, -id], texts = ARRAY['x,y', NULL, 'q\"', E'back\\\\slash', '{}'],"
                    + " jb = jsonb_build_object('k', id, 's', 'a\"b'), js = '{\"raw\" : [1, 2]}',"
                    + " by = decode(md5(id::text), 'hex'), num = id * 1.005, ts = '2024-02-29 23:59:59.123456+00'::timestamptz + id * interval '1 day',"
                    + " iv = id * interval '1 hour 2 minutes', t = CASE WHEN id % 3 = 0 THEN NULL ELSE E'line\\nbreak\\ttab ' || id END,"
                    + " d = id + 100");
            assertReplicated(pair, ZOO, CATCH_UP);
            assertEquals(List.of(List.of(String.valueOf(ROWS), "1")),
                    pair.downstreamRows("SELECT count(*), count(DISTINCT cmin::text) FROM zoo"),
                    "the run of updates went downstream as one statement (one command id)");
            pair.upstream("DELETE FROM zoo WHERE id % 3 = 1");
            assertReplicated(pair, ZOO, CATCH_UP);
        }
    }

    @Test
    void aMissingRowAndARefusedValueAreNamedAsRowByRow() throws Exception {
        pair.schema("CREATE TABLE guarded (id int PRIMARY KEY, v text)");
        pair.downstream("ALTER TABLE guarded ADD CONSTRAINT not_bad CHECK (v <> 'bad')");
        pair.upstream("CREATE PUBLICATION guarded FOR TABLE guarded");
        try (RelayRunner relay = relay("guarded")) {
            pair.upstream("INSERT INTO guarded SELECT g, 'ok' FROM generate_series(1, " + ROWS + ") g");
            assertReplicated(pair, "SELECT id, v FROM guarded ORDER BY id", CATCH_UP);
        }
        pair.downstream("DELETE FROM guarded WHERE id = 7");
        pair.upstream("UPDATE guarded SET v = 'new' WHERE id <= 20");
        assertStopsNaming("(id)=(7)", "the row to update does not exist downstream");
        assertEquals(List.of(List.of("0")), pair.downstreamRows("SELECT count(*) FROM guarded WHERE v = 'new'"),
                "nothing of the refused transaction");

        pair.downstream("INSERT INTO guarded VALUES (7, 'ok')");
        pair.upstream("UPDATE guarded SET v = CASE WHEN id = 25 THEN 'bad' ELSE 'fine' END WHERE id > 20");
        assertStopsNaming("(id)=(25)", "23514");
        assertEquals(List.of(List.of("0")), pair.downstreamRows("SELECT count(*) FROM guarded WHERE v IN ('bad', 'fine')"),
                "nothing of the refused transaction");
    }

    /** The relay on "guarded" stops (exit 1) with a failure that says every one of {@code expected}. */
    private static void assertStopsNaming(String... expected) throws Exception {
        try (RelayRunner relay = starting("guarded")) {
            assertEquals(1, relay.awaitExit(CATCH_UP), "exit code 1 when the downstream refuses the run");
            String failure = relay.failure();
            assertNotNull(failure);
            for (String part : expected) {
                assertTrue(failure.contains(part), "names " + part + ": " + failure);
            }
        }
    }

    private static RelayRunner relay(String name) throws InterruptedException {
        return RelayRunner.streaming(pair, name, START);
    }

    /** A relay that may stop before it is seen streaming: one that meets a refused row at once. */
    private static RelayRunner starting(String name) {
        return RelayRunner.start(pair, name);
    }
}
