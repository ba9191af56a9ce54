package io.pgrelay.schema;

import static io.pgrelay.it.Eventually.assertReplicated;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.RelayRunner;
import io.pgrelay.it.ReplicationPair;
import io.pgrelay.it.TypeZoo;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * schema.create=true against an empty downstream: every published table is created with the
 * upstream's column types, NOT NULL, primary key and replica identity, then streamed changes
 * apply to it. Also the entry points the initial sync uses: bootstrapping from a relay's
 * downstream (the child relay case) and copying sequence values.
 */
@Timeout(240)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class) // the relay must meet an empty downstream
class SchemaBootstrapIT {

    private static final Duration CATCH_UP = Duration.ofSeconds(30);

    /** Upstream only: the downstream starts with nothing but its database. */
    private static final String[] UPSTREAM_SCHEMA = {
        TypeZoo.TYPES,
        "CREATE SCHEMA sales",
        """
        CREATE TABLE sales.orders (
            id bigserial PRIMARY KEY,
            customer text NOT NULL DEFAULT 'anonymous',
            qty int DEFAULT 1,
            note varchar(40) COLLATE "C",
            created timestamptz NOT NULL DEFAULT now(),
            total numeric(12, 2) GENERATED ALWAYS AS (qty * 2.5) STORED
        )""",
        "CREATE TABLE ident (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text)",
        """
        CREATE TABLE measurements (id int, at date NOT NULL, v numeric, PRIMARY KEY (id, at))
            PARTITION BY RANGE (at)""",
        "CREATE TABLE measurements_2024 PARTITION OF measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
        "CREATE TABLE measurements_2025 PARTITION OF measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
        "CREATE TABLE ri_index (a int NOT NULL, b text NOT NULL, c text)",
        "CREATE UNIQUE INDEX ri_index_ab ON ri_index (a, b)",
        "ALTER TABLE ri_index REPLICA IDENTITY USING INDEX ri_index_ab",
        "CREATE TABLE ri_full (x int, y json)",
        "ALTER TABLE ri_full REPLICA IDENTITY FULL",
        "CREATE TABLE empty_t (id int PRIMARY KEY, v text)",
        "CREATE SCHEMA types",
        "CREATE TYPE types.level AS ENUM ('low', 'mid', 'high')",
        "CREATE DOMAIN types.level_set AS types.level NOT NULL DEFAULT 'low' CHECK (VALUE <> 'mid')",
        "CREATE TYPE types.floatrange AS RANGE (subtype = float8, subtype_diff = float8mi)",
        "CREATE TYPE types.reading AS (level types.level, span types.floatrange, tags text[])",
        """
        CREATE TABLE typed (id int PRIMARY KEY, lv types.level_set, fr types.floatrange, fm types.floatmultirange,
                            rd types.reading, rds types.reading[])""",
        "CREATE TABLE \"Mixed Case\" (\"Id\" int PRIMARY KEY, \"select\" text, \"quote\"\"d\" int)",
        "CREATE PUBLICATION boot_pub FOR TABLE zoo, sales.orders, ident, measurements, ri_index, ri_full, empty_t, "
            + "typed, \"Mixed Case\" WITH (publish_via_partition_root = true)"
    };

    private static final List<String> TABLES = List.of("zoo", "sales.orders", "ident", "measurements", "ri_index",
            "ri_full", "empty_t", "typed", "\"Mixed Case\"");

    private static ReplicationPair pair;

    @BeforeAll
    static void startClusters() throws Exception {
        pair = ReplicationPair.start("boot");
        pair.upstream(UPSTREAM_SCHEMA);
    }

    @AfterAll
    static void stopClusters() {
        if (pair != null) {
            pair.close();
        }
    }

    @Test
    @Order(1)
    void createsEveryPublishedTableThenStreamsIntoIt() throws Exception {
        Properties properties = pair.properties("boot_slot", "boot_pub");
        properties.setProperty("schema.create", "true");
        try (RelayRunner relay = RelayRunner.start(pair.config(properties))) {
            relay.awaitStreaming(Duration.ofSeconds(60));
            assertSameStructure();

            pair.upstream(TypeZoo.workload());
            pair.upstream(
                    "INSERT INTO sales.orders (customer, qty, note) VALUES ('ann', 2, 'b'), ('bob', 3, 'a')",
                    "INSERT INTO sales.orders (qty) VALUES (7)",
                    "UPDATE sales.orders SET qty = 10 WHERE customer = 'bob'",
                    "INSERT INTO ident (v) SELECT 'v' || g FROM generate_series(1, 5) g",
                    "DELETE FROM ident WHERE id = 2",
                    "INSERT INTO measurements VALUES (1, '2024-05-01', 1.5), (2, '2025-05-01', 2.5), (3, '2024-06-01', 3)",
                    "UPDATE measurements SET at = '2025-06-01' WHERE id = 1", // moves across partitions upstream
                    "DELETE FROM measurements WHERE id = 3",
                    "INSERT INTO ri_index VALUES (1, 'a', 'x'), (1, 'b', 'y'), (2, 'a', 'z')",
                    "UPDATE ri_index SET c = 'changed' WHERE a = 1 AND b = 'b'",
                    "UPDATE ri_index SET b = 'moved' WHERE a = 2",
                    "DELETE FROM ri_index WHERE a = 1 AND b = 'a'",
                    "INSERT INTO ri_full VALUES (1, '{\"a\": 1}'), (1, '{\"a\": 1}'), (2, null)",
                    "UPDATE ri_full SET x = 5 WHERE y IS NULL",
                    "DELETE FROM ri_full WHERE x = 1",
                    "INSERT INTO typed VALUES (1, 'high', '[1.5,2.5)', '{[1,2),[3,4)}', '(low,\"[0,1)\",\"{a,b}\")', "
                        + "ARRAY['(high,,{})'::types.reading, NULL])",
                    "INSERT INTO typed (id) VALUES (2)",
                    "INSERT INTO \"Mixed Case\" VALUES (1, 'from', 2)",
                    "UPDATE \"Mixed Case\" SET \"select\" = 'where' WHERE \"Id\" = 1");

            assertReplicated(pair, TypeZoo.SELECT, CATCH_UP);
            assertReplicated(pair, "SELECT id, customer, qty, note, created, total FROM sales.orders ORDER BY id", CATCH_UP);
            assertReplicated(pair, "SELECT * FROM ident ORDER BY id", CATCH_UP);
            assertReplicated(pair, "SELECT * FROM measurements ORDER BY id", CATCH_UP);
            assertReplicated(pair, "SELECT * FROM ri_index ORDER BY a, b", CATCH_UP);
            assertReplicated(pair, "SELECT x, y::text FROM ri_full ORDER BY x", CATCH_UP);
            assertReplicated(pair, "SELECT typed::text FROM typed ORDER BY id", CATCH_UP);
            assertReplicated(pair, "SELECT * FROM \"Mixed Case\"", CATCH_UP);
            assertEquals(List.of(List.of("0")), pair.downstreamRows("SELECT count(*) FROM empty_t"));
            assertEquals(List.of(List.of("low")), pair.downstreamRows("SELECT lv::text FROM typed WHERE id = 2"),
                    "the domain's default is the upstream's");
        }
    }

    @Test
    @Order(2)
    void aSecondRunCreatesNothingAndAChildDatabaseCanBeBootstrappedFromTheDownstream() throws Exception {
        List<TableName> tables;
        try (Connection up = pair.upstream.connect(ReplicationPair.DB);
             Connection down = pair.downstream.connect(ReplicationPair.DB)) {
            tables = SchemaBootstrap.publishedTables(up, List.of("boot_pub"));
            assertEquals(9, tables.size(), "published tables: " + tables);
            assertTrue(tables.contains(new TableName("public", "measurements")), "the partitioned root is published: " + tables);
            assertEquals(List.of(), SchemaBootstrap.bootstrap(up, down, tables), "second run must create nothing");
        }

        // A child relay bootstraps from its parent's downstream: no publication there, a table list.
        pair.downstream.createDatabase("child");
        try (Connection parentDownstream = pair.downstream.connect(ReplicationPair.DB);
             Connection child = pair.downstream.connect("child")) {
            List<String> created = SchemaBootstrap.bootstrap(parentDownstream, child, tables);
            assertTrue(created.contains("table public.zoo") && created.contains("type public.mood")
                    && created.contains("sequence sales.orders_id_seq"), "created: " + created);
        }
        for (String table : TABLES) {
            assertEquals(pair.upstream.query(ReplicationPair.DB, columnsOf(table)), pair.downstream.query("child", columnsOf(table)),
                    "columns of " + table + " in the child database");
        }
    }

    @Test
    @Order(3)
    void sequenceValuesAreCopied() throws Exception {
        pair.upstream("CREATE TABLE counters (id serial PRIMARY KEY)", "INSERT INTO counters SELECT FROM generate_series(1, 41)");
        List<TableName> tables = List.of(new TableName("public", "counters"));
        try (Connection up = pair.upstream.connect(ReplicationPair.DB);
             Connection down = pair.downstream.connect(ReplicationPair.DB)) {
            assertEquals(List.of("sequence public.counters_id_seq", "table public.counters",
                    "ownership of sequence public.counters_id_seq"), SchemaBootstrap.bootstrap(up, down, tables));
            assertEquals(1, SchemaBootstrap.copySequenceValues(up, down, tables));
        }
        assertEquals(List.of(List.of("41", "t")), pair.downstreamRows("SELECT last_value, is_called FROM counters_id_seq"));
        pair.downstream("INSERT INTO counters DEFAULT VALUES");
        assertEquals(List.of(List.of("42")), pair.downstreamRows("SELECT max(id) FROM counters"),
                "the downstream continues the upstream's sequence");
    }

    @Test
    @Order(4)
    void aPublicationColumnListCreatesOnlyThePublishedColumns() throws Exception {
        pair.upstream("CREATE TABLE partial (id int PRIMARY KEY, shown text, secret text NOT NULL)",
                "CREATE PUBLICATION partial_pub FOR TABLE partial (id, shown)");
        pair.downstream.createDatabase("partial");
        try (Connection up = pair.upstream.connect(ReplicationPair.DB);
             Connection down = pair.downstream.connect("partial")) {
            assertEquals(List.of("table public.partial"), SchemaBootstrap.bootstrapPublished(up, down, List.of("partial_pub")));
        }
        assertEquals(List.of(List.of("id"), List.of("shown")), pair.downstream.query("partial",
                "SELECT attname FROM pg_attribute WHERE attrelid = 'partial'::regclass AND attnum > 0 ORDER BY attnum"));
    }

    @Test
    @Order(5)
    void aColumnOfATablesRowTypeIsRefusedNamingIt() throws Exception {
        pair.upstream("CREATE TABLE address (street text)", "CREATE TABLE person (id int PRIMARY KEY, home address)");
        pair.downstream.createDatabase("rowtype");
        try (Connection up = pair.upstream.connect(ReplicationPair.DB);
             Connection down = pair.downstream.connect("rowtype")) {
            SchemaException refused = org.junit.jupiter.api.Assertions.assertThrows(SchemaException.class,
                    () -> SchemaBootstrap.bootstrap(up, down, List.of(new TableName("public", "person"))));
            assertEquals("a published table has a column of type public.address, the row type of a table: "
                    + "create table public.address on the downstream first", refused.getMessage());
        }
        assertEquals(List.of(), pair.downstream.query("rowtype", "SELECT 1 FROM pg_class WHERE relname = 'person'"));
    }

    private static void assertSameStructure() throws Exception {
        for (String table : TABLES) {
            assertEquals(pair.upstreamRows(columnsOf(table)), pair.downstreamRows(columnsOf(table)), "columns of " + table);
            assertEquals(pair.upstreamRows(keysOf(table)), pair.downstreamRows(keysOf(table)), "keys of " + table);
        }
        assertEquals(List.of(List.of("r")), pair.downstreamRows("SELECT relkind FROM pg_class WHERE oid = 'measurements'::regclass"),
                "a partitioned table published via its root is a plain table downstream");
        assertEquals(List.of(List.of("i", "CREATE UNIQUE INDEX ri_index_ab ON public.ri_index USING btree (a, b)")),
                pair.downstreamRows("SELECT c.relreplident, pg_get_indexdef(i.indexrelid) FROM pg_class c "
                        + "JOIN pg_index i ON i.indrelid = c.oid AND i.indisreplident WHERE c.oid = 'ri_index'::regclass"));
        assertEquals(List.of(List.of("'anonymous'::text")), pair.downstreamRows(
                "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'sales.orders'::regclass AND adnum = 2"));
        assertEquals(List.of(List.of("nextval('sales.orders_id_seq'::regclass)")), pair.downstreamRows(
                "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'sales.orders'::regclass AND adnum = 1"));
        assertFalse(pair.downstreamRows("SELECT 1 FROM pg_class WHERE relname = 'measurements_2024'").size() > 0,
                "partitions are not created");
    }

    /** Name, type, NOT NULL, collation, generation of every column; identity shows as f (for 'not an identity'). */
    private static String columnsOf(String table) {
        return "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attcollation::regcollation, "
                + "a.attgenerated FROM pg_attribute a WHERE a.attrelid = '" + table.replace("'", "''")
                + "'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";
    }

    /** Primary key and replica identity. */
    private static String keysOf(String table) {
        String oid = "'" + table.replace("'", "''") + "'::regclass";
        return "SELECT (SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = " + oid + " AND contype = 'p'), "
                + "relreplident FROM pg_class WHERE oid = " + oid;
    }
}
