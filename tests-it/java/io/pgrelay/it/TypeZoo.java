package io.pgrelay.it;

/**
 * The type zoo: every built-in type family with its awkward values (NaN, infinities, huge
 * precision, NULL array elements, quoting), used wherever replication must be exact.
 */
public final class TypeZoo {
    private TypeZoo() {}

    public static final String TYPES = """
            CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
            CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);
            CREATE TYPE pair_t AS (label text, amount numeric);
            CREATE TABLE zoo (
                id          int PRIMARY KEY,
                b           boolean,
                i2          smallint,
                i4          int,
                i8          bigint,
                num         numeric,
                num_big     numeric(1000, 500),
                f4          real,
                f8          double precision,
                money_v     money,
                ch          char(5),
                vc          varchar(20),
                txt         text,
                by          bytea,
                d           date,
                t           time,
                ttz         time with time zone,
                ts          timestamp,
                tstz        timestamptz,
                iv          interval,
                u           uuid,
                ip          inet,
                cidr_v      cidr,
                mac         macaddr,
                mac8        macaddr8,
                bits        bit(8),
                vbits       bit varying(64),
                j           json,
                jb          jsonb,
                x           xml,
                tsv         tsvector,
                tsq         tsquery,
                pt          point,
                bx          box,
                ln          line,
                ci          circle,
                int_arr     int[],
                txt_arr     text[],
                arr2d       numeric[][],
                r_int       int4range,
                r_ts        tstzrange,
                r_num       numrange,
                mr          int4multirange,
                e           mood,
                e_arr       mood[],
                dom         positive_int,
                comp        pair_t,
                comp_arr    pair_t[],
                o           oid,
                pl          pg_lsn
            );
            """;

    public static final String ROW_AWKWARD = """
            INSERT INTO zoo VALUES (
                1, true, -32768, -2147483648, 9223372036854775807,
                'NaN', 1.5e-400 + 12345678901234567890.123456789012345678901234567890,
                'Infinity', '-Infinity',
                '-92233720368547758.08',
                'ab', 'quote''s \\ back', E'line1\\nline2\\ttab "dq" \\\\ backslash 😀 ünïcödé',
                '\\x00ff10deadbeef',
                'infinity', '24:00:00', '23:59:59.999999+14:59', '-infinity', 'infinity',
                '-178000000 years 3 mons -5 days 01:02:03.456789',
                'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2001:db8::1/64', '10.0.0.0/8', '08:00:2b:01:02:03',
                '08:00:2b:01:02:03:04:05', B'10101010', B'1',
                '{"k": [1, 2.50, "x"],   "k": null}', '{"b": {"c": [true, null]}, "a": 1.000}',
                '<a href="x">t&amp;</a>', 'fat:2A cats:3 sat', 'fat & (rat | !cat)',
                '(1.5,-2)', '((0,0),(1,1))', '{1,-1,0}', '<(0,0),2>',
                '{1,NULL,3}', '{"a,b","NULL",NULL,"","{}","\\\\"}', '{{1.1,NULL},{NaN,-0}}',
                '[1,10)', '[2000-01-01 00:00:00+00,infinity)', '(,5.5]', '{[1,3),[5,7)}',
                'happy', '{sad,NULL,ok}', 42, '("it''s, ""quoted""\",NaN)', '{"(a,1)",NULL,"(,)"}',
                4294967295, 'FFFFFFFF/FFFFFFFF'
            );
            """;

    /** Statements that fill, update and delete zoo rows; run them in order on the upstream. */
    public static String[] workload() {
        return new String[] {
                ROW_AWKWARD,
                "INSERT INTO zoo (id) VALUES (2)",
                "INSERT INTO zoo SELECT 3, false, 0, 0, 0, 0, 0, 0, -0.0, 0, '', '', '', '', "
                    + "'2024-02-29', '00:00', '00:00+00', '1999-12-31 23:59:59.5', '1999-12-31 23:59:59.5+01', '0', "
                    + "gen_random_uuid(), '::1', '::/0', '00:00:00:00:00:00', '00:00:00:00:00:00:00:00', B'00000000', "
                    + "B'', '[]', '{}', '<x/>', '', 'a', '(0,0)', '((0,0),(0,0))', '{1,1,1}', '<(0,0),0>', '{}', '{}', "
                    + "'{}', 'empty', 'empty', 'empty', '{}', 'sad', '{}', 1, '(,)', '{}', 0, '0/0'",
                "INSERT INTO zoo SELECT id + 100, b, i2, i4, i8, num, num_big, f4, f8, money_v, ch, vc, txt, by, "
                    + "d, t, ttz, ts, tstz, iv, u, ip, cidr_v, mac, mac8, bits, vbits, j, jb, x, tsv, tsq, pt, bx, ln, ci, "
                    + "int_arr, txt_arr, arr2d, r_int, r_ts, r_num, mr, e, e_arr, dom, comp, comp_arr, o, pl FROM zoo",
                "UPDATE zoo SET txt = txt || ' (updated)', f8 = 'NaN', num = '-0.000', iv = '1 day' WHERE id = 101",
                "DELETE FROM zoo WHERE id = 102"
        };
    }

    /** Compares whole rows through their text form: equal text means every column round-tripped. */
    public static final String SELECT = "SELECT zoo::text FROM zoo ORDER BY id";
}
