package io.pgrelay.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The statements and their order; that they run is SchemaBootstrapIT's job (real PostgreSQL). */
@Timeout(5)
class DdlPlanTest {

    private static final TableName ORDERS = new TableName("sales", "Orders");
    private static final TableName SEQUENCE = new TableName("sales", "Orders_id_seq");
    private static final TableName MOOD = new TableName("public", "mood");

    /** A downstream that has exactly the named objects. */
    private static final class Target extends TargetCatalog {
        private final Set<String> existing;

        Target(String... existing) {
            super(null);
            this.existing = Set.of(existing);
        }

        @Override
        boolean hasSchema(String schema) {
            return existing.contains("schema " + schema);
        }

        @Override
        boolean hasType(TableName type) {
            return existing.contains("type " + type);
        }

        @Override
        boolean hasExtension(String extension) {
            return existing.contains("extension " + extension);
        }

        @Override
        boolean hasRelation(TableName relation) {
            return existing.contains("relation " + relation);
        }
    }

    private static SourceSchema source() {
        TableDefinition orders = new TableDefinition(ORDERS, List.of(
                new TableDefinition.Column("id", "bigint", 20, true, null, "nextval('\"sales\".\"Orders_id_seq\"'::regclass)", null),
                new TableDefinition.Column("Note \"x\"", "text", 25, false, "\"C\"", "'none'::text", null),
                new TableDefinition.Column("mood", "public.mood", 16390, false, null, null, null),
                new TableDefinition.Column("double", "integer", 23, false, null, null, "(id * 2)")),
                "CONSTRAINT \"Orders_pkey\" PRIMARY KEY (id)", null, "FULL");
        SequenceDefinition sequence = new SequenceDefinition(SEQUENCE, "bigint", 1, 1, 1, Long.MAX_VALUE, 1, false, ORDERS, "id");
        return new SourceSchema(List.of(new TypeDefinition.Enum(MOOD, List.of("sad", "it's ok")),
                new TypeDefinition.Extension("citext", "public")), List.of(sequence), List.of(orders));
    }

    @Test
    void createsInDependencyOrderWithEverythingQuoted() throws Exception {
        List<DdlPlan.Step> steps = DdlPlan.of(source(), new Target("schema public")).steps();
        assertEquals(List.of("schema sales", "type public.mood", "extension citext", "sequence sales.Orders_id_seq",
                "table sales.Orders", "replica identity of sales.Orders", "ownership of sequence sales.Orders_id_seq"),
                steps.stream().map(DdlPlan.Step::object).toList());
        assertEquals("CREATE SCHEMA \"sales\"", steps.get(0).sql());
        assertEquals("CREATE TYPE \"public\".\"mood\" AS ENUM ('sad', 'it''s ok')", steps.get(1).sql());
        assertEquals("CREATE EXTENSION IF NOT EXISTS \"citext\" WITH SCHEMA \"public\"", steps.get(2).sql());
        assertEquals("CREATE SEQUENCE \"sales\".\"Orders_id_seq\" AS bigint INCREMENT BY 1 MINVALUE 1 MAXVALUE "
                + Long.MAX_VALUE + " START WITH 1 CACHE 1 NO CYCLE", steps.get(3).sql());
        assertEquals("""
                CREATE TABLE "sales"."Orders" (
                    "id" bigint DEFAULT nextval('"sales"."Orders_id_seq"'::regclass) NOT NULL,
                    "Note ""x""\" text COLLATE "C" DEFAULT 'none'::text,
                    "mood" public.mood,
                    "double" integer GENERATED ALWAYS AS ((id * 2)) STORED,
                    CONSTRAINT "Orders_pkey" PRIMARY KEY (id)
                )""", steps.get(4).sql());
        assertEquals("ALTER TABLE \"sales\".\"Orders\" REPLICA IDENTITY FULL", steps.get(5).sql());
        assertEquals("ALTER SEQUENCE \"sales\".\"Orders_id_seq\" OWNED BY \"sales\".\"Orders\".\"id\"", steps.get(6).sql());
    }

    @Test
    void leavesOutWhatTheDownstreamHas() throws Exception {
        DdlPlan plan = DdlPlan.of(source(), new Target("schema public", "schema sales", "type public.mood",
                "extension citext", "relation sales.Orders_id_seq", "relation sales.Orders"));
        assertEquals(List.of(), plan.steps());
    }

    @Test
    void anExistingSequenceKeepsItsOwnerButANewTableStillUsesIt() throws Exception {
        List<DdlPlan.Step> steps = DdlPlan.of(source(), new Target("schema public", "schema sales", "type public.mood",
                "extension citext", "relation sales.Orders_id_seq")).steps();
        assertEquals(List.of("table sales.Orders", "replica identity of sales.Orders"),
                steps.stream().map(DdlPlan.Step::object).toList());
    }

    @Test
    void domainsAndRangesAndComposites() {
        assertEquals("CREATE DOMAIN \"s\".\"d\" AS integer COLLATE x DEFAULT 1 NOT NULL CONSTRAINT \"c\" CHECK ((VALUE > 0))",
                new TypeDefinition.Domain(new TableName("s", "d"), "integer", "x", "1", true,
                        List.of("CONSTRAINT \"c\" CHECK ((VALUE > 0))")).createSql());
        assertEquals("CREATE TYPE \"s\".\"r\" AS RANGE (SUBTYPE = double precision, MULTIRANGE_TYPE_NAME = s.rm)",
                new TypeDefinition.Range(new TableName("s", "r"), List.of("SUBTYPE = double precision",
                        "MULTIRANGE_TYPE_NAME = s.rm")).createSql());
        assertEquals("CREATE TYPE \"s\".\"c\" AS (\"a\" integer, \"b\" s.d)",
                new TypeDefinition.Composite(new TableName("s", "c"), List.of("\"a\" integer", "\"b\" s.d")).createSql());
    }
}
