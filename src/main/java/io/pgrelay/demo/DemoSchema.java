package io.pgrelay.demo;

import java.util.List;

/** The demo's database: three small tables of different shapes, published on the root. */
final class DemoSchema {

    static final String DATABASE = "demo";
    static final String PUBLICATION = "demo";
    /** Every table has the primary key {@code id}: the verification orders rows by it. */
    static final List<String> TABLES = List.of("accounts", "transfers", "events");

    /** Run on the root and on every tier: pgrelay applies into existing tables. */
    static final List<String> TABLES_DDL = List.of(
            "CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(14,2) NOT NULL,"
                    + " updated_at timestamptz NOT NULL DEFAULT now())",
            "CREATE TABLE transfers (id bigserial PRIMARY KEY, from_account int NOT NULL, to_account int NOT NULL,"
                    + " amount numeric(14,2) NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())",
            "CREATE TABLE events (id uuid PRIMARY KEY, kind text NOT NULL, payload jsonb NOT NULL, tags text[],"
                    + " at timestamptz NOT NULL DEFAULT clock_timestamp())");

    static final String CREATE_PUBLICATION =
            "CREATE PUBLICATION " + PUBLICATION + " FOR TABLE " + String.join(", ", TABLES);

    private DemoSchema() {
    }
}
