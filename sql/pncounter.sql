--
-- tidal.pncounter: text and binary I/O, add, value, merge, merge_agg,
-- equality, and the CRDT laws on random counters.
--
-- Operators live in schema tidal; put it on the path so they resolve.
SET search_path = public, tidal;

--
-- text I/O: any order in, canonical (sorted, no all-zero nodes) out
--
SELECT '{}'::tidal.pncounter;
SELECT ' {  } '::tidal.pncounter;
SELECT '{1:5:2,3:7:0}'::tidal.pncounter;
SELECT ' { 3 : 7 : 0 ,1:5:2 } '::tidal.pncounter;
SELECT '{2:0:0,1:1:0,7:0:0}'::tidal.pncounter;
SELECT '{65535:9223372036854775807:9223372036854775807,0:1:1}'::tidal.pncounter;

-- malformed or out of range
SELECT ''::tidal.pncounter;
SELECT '{'::tidal.pncounter;
SELECT '[1:2:3]'::tidal.pncounter;
SELECT '{1:2}'::tidal.pncounter;
SELECT '{1:2:3'::tidal.pncounter;
SELECT '{1:2:3,}'::tidal.pncounter;
SELECT '{,}'::tidal.pncounter;
SELECT '{1:2:3;2:0:1}'::tidal.pncounter;
SELECT '{1:2:3} x'::tidal.pncounter;
SELECT '{a:1:1}'::tidal.pncounter;
SELECT '{1:1.5:1}'::tidal.pncounter;
SELECT '{1:2:3,1:0:1}'::tidal.pncounter;
SELECT '{1:0:0,1:0:0}'::tidal.pncounter;
SELECT '{1:-1:0}'::tidal.pncounter;
SELECT '{1:0:-1}'::tidal.pncounter;
SELECT '{-1:0:0}'::tidal.pncounter;
SELECT '{65536:1:0}'::tidal.pncounter;
SELECT '{1:9223372036854775808:0}'::tidal.pncounter;

--
-- pncounter_add
--
SELECT tidal.pncounter_add(NULL, 1, 5);
SELECT tidal.pncounter_add(NULL, 1, -5);
SELECT tidal.pncounter_add(NULL, 1, 0);
SELECT tidal.pncounter_add('{1:5:0}', 1, 3);
SELECT tidal.pncounter_add('{1:5:0}', 1, -3);
SELECT tidal.pncounter_add('{1:5:0}', 1, 0);
SELECT tidal.pncounter_add('{1:5:0,5:1:1}', 3, 4);    -- new node in the middle
SELECT tidal.pncounter_add('{1:5:0,5:1:1}', 0, -4);   -- at the front
SELECT tidal.pncounter_add('{1:5:0,5:1:1}', 65535, 1); -- at the end
SELECT tidal.pncounter_add('{1:9223372036854775806:0}', 1, 1);
SELECT tidal.pncounter_add(NULL, 1, -9223372036854775807);
-- errors
SELECT tidal.pncounter_add('{}', NULL, 1);
SELECT tidal.pncounter_add('{}', 1, NULL);
SELECT tidal.pncounter_add(NULL, NULL, NULL);
SELECT tidal.pncounter_add('{}', -1, 1);
SELECT tidal.pncounter_add('{}', 65536, 1);
SELECT tidal.pncounter_add('{1:9223372036854775807:0}', 1, 1);
SELECT tidal.pncounter_add('{1:0:1}', 1, -9223372036854775807);
SELECT tidal.pncounter_add(NULL, 1, -9223372036854775808);

--
-- pncounter_value
--
SELECT tidal.pncounter_value('{}');
SELECT tidal.pncounter_value('{1:5:2,3:7:0}');
SELECT tidal.pncounter_value('{1:5:20,3:7:0}');
SELECT tidal.pncounter_value(NULL) IS NULL AS strict;
-- exact even when a partial sum would not fit in a bigint
SELECT tidal.pncounter_value('{1:9223372036854775807:0,2:9223372036854775807:0,3:0:9223372036854775807}');
SELECT tidal.pncounter_value('{1:0:9223372036854775807,2:0:1}');
-- errors
SELECT tidal.pncounter_value('{1:9223372036854775807:0,2:1:0}');
SELECT tidal.pncounter_value('{1:0:9223372036854775807,2:0:2}');

--
-- pncounter_merge: per node, the larger increments and the larger decrements
--
SELECT tidal.pncounter_merge('{1:5:2,3:7:0}', '{1:3:4,2:1:0}');
SELECT tidal.pncounter_merge('{1:5:2}', '{}');
SELECT tidal.pncounter_merge('{}', '{}');
SELECT tidal.pncounter_merge(NULL, '{1:5:2}');
SELECT tidal.pncounter_merge('{1:5:2}', NULL);
SELECT tidal.pncounter_merge(NULL, NULL) IS NULL AS both_null;

-- pncounter_merge_agg: NULL rows are ignored, no rows give NULL
SELECT tidal.pncounter_merge_agg(c)
FROM (VALUES ('{1:5:2}'::tidal.pncounter), (NULL), ('{2:1:0}'), ('{1:3:3,4:0:9}')) v(c);
SELECT tidal.pncounter_merge_agg(c) IS NULL AS empty_is_null
FROM (VALUES ('{1:5:2}'::tidal.pncounter)) v(c) WHERE false;
SELECT tidal.pncounter_merge_agg(c) IS NULL AS all_null_is_null
FROM (VALUES (NULL::tidal.pncounter), (NULL)) v(c);

--
-- equality of canonical forms
--
SELECT a, b, a = b AS eq, a <> b AS ne
FROM (VALUES ('{1:5:2,3:7:0}'::tidal.pncounter, '{3:7:0,1:5:2}'::tidal.pncounter),
             ('{1:5:2}', '{1:5:3}'),
             ('{1:5:2}', '{1:5:2,2:1:0}'),
             ('{1:5:2}', '{2:5:2}'),
             ('{}', '{9:0:0}')) v(a, b);

--
-- value semantics
--
-- replicas each count at their own node; merging their states adds them up
SELECT tidal.pncounter_value(tidal.pncounter_merge(
           tidal.pncounter_add(tidal.pncounter_add(NULL, 1, 10), 1, -3),
           tidal.pncounter_add(NULL, 2, 5))) AS sum_of_replicas;
-- replica 2 has seen replica 1's increments and added its own: merging the
-- two does not count replica 1's increments twice
SELECT tidal.pncounter_merge(a, b) AS merged, tidal.pncounter_value(tidal.pncounter_merge(a, b)) AS value
FROM (SELECT '{1:5:0}'::tidal.pncounter AS a,
             tidal.pncounter_add('{1:5:0}', 2, 3) AS b) s;

--
-- binary I/O
--
SELECT tidal.pncounter_send('{1:5:2,3:7:0}');
SELECT tidal.pncounter_send('{}');

-- COPY to a file in the (temporary) data directory and back in binary form
CREATE FUNCTION pg_temp.copy_through_file(src text, dst text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    f text := current_setting('data_directory') || '/tidal_pncounter_test.bin';
BEGIN
    EXECUTE format('COPY %s TO %L (FORMAT binary)', src, f);
    EXECUTE format('COPY %s FROM %L (FORMAT binary)', dst, f);
END
$$;

-- pncounter_recv validates: feed it hand-made bytes through a bytea column,
-- whose binary form is its raw bytes
CREATE TEMP TABLE raw_bytes (b bytea);
CREATE TEMP TABLE pn_in (c tidal.pncounter);
-- two entries out of order, one all zero: accepted and made canonical
INSERT INTO raw_bytes VALUES (decode(replace(
    '00000003 00000003 0000000000000007 0000000000000000 00000009 0000000000000000 0000000000000000 00000001 0000000000000005 0000000000000002', ' ', ''), 'hex'));
SELECT pg_temp.copy_through_file('raw_bytes', 'pn_in');
SELECT * FROM pn_in;
\set SHOW_CONTEXT never
TRUNCATE raw_bytes;
-- duplicate node
INSERT INTO raw_bytes VALUES (decode(replace(
    '00000002 00000001 0000000000000007 0000000000000000 00000001 0000000000000005 0000000000000002', ' ', ''), 'hex'));
SELECT pg_temp.copy_through_file('raw_bytes', 'pn_in');
TRUNCATE raw_bytes;
-- negative increments
INSERT INTO raw_bytes VALUES (decode(replace(
    '00000001 00000001 ffffffffffffffff 0000000000000000', ' ', ''), 'hex'));
SELECT pg_temp.copy_through_file('raw_bytes', 'pn_in');
TRUNCATE raw_bytes;
-- node out of range
INSERT INTO raw_bytes VALUES (decode(replace(
    '00000001 00010000 0000000000000001 0000000000000000', ' ', ''), 'hex'));
SELECT pg_temp.copy_through_file('raw_bytes', 'pn_in');
TRUNCATE raw_bytes;
-- count larger than the data
INSERT INTO raw_bytes VALUES (decode(replace(
    '00000002 00000001 0000000000000001 0000000000000000', ' ', ''), 'hex'));
SELECT pg_temp.copy_through_file('raw_bytes', 'pn_in');
TRUNCATE raw_bytes;
INSERT INTO raw_bytes VALUES ('\xffffffff');   -- negative count
SELECT pg_temp.copy_through_file('raw_bytes', 'pn_in');
TRUNCATE raw_bytes;
-- trailing bytes
INSERT INTO raw_bytes VALUES (decode(replace(
    '00000001 00000001 0000000000000001 0000000000000000 00', ' ', ''), 'hex'));
SELECT pg_temp.copy_through_file('raw_bytes', 'pn_in');
\set SHOW_CONTEXT errors
SELECT count(*) FROM pn_in;

--
-- properties on random counters
--
SELECT setseed(0.1234);

-- 3,000 counters built with pncounter_add from random deltas at a few nodes
-- (some counters get no operations at all and stay empty)
CREATE TEMP TABLE pn_ops AS
SELECT s AS seq,
       1 + floor(random() * 3000)::int AS id,
       floor(random() * 6)::int AS node,
       CASE WHEN random() < 0.1 THEN floor((random() - 0.5) * 2e15)::bigint
            ELSE floor((random() - 0.5) * 200)::bigint END AS delta
FROM generate_series(1, 15000) s;

CREATE AGGREGATE pg_temp.pn_build(int, bigint) (
    SFUNC = tidal.pncounter_add, STYPE = tidal.pncounter, INITCOND = '{}');

CREATE TEMP TABLE pn AS
SELECT i AS id, coalesce(c, '{}') AS c, coalesce(total, 0) AS total
FROM generate_series(1, 3000) i
LEFT JOIN (SELECT id, pg_temp.pn_build(node, delta ORDER BY seq) AS c, sum(delta) AS total
           FROM pn_ops GROUP BY id) o ON o.id = i;

SELECT count(*) AS counters,
       count(*) FILTER (WHERE c = '{}') AS empty,
       count(DISTINCT c::text) AS distinct_counters
FROM pn;

-- the value is the sum of the deltas added, and the order of adds is irrelevant
SELECT count(*) AS value_mismatches
FROM pn WHERE tidal.pncounter_value(c) <> total;
SELECT count(*) AS add_order_mismatches
FROM pn JOIN (SELECT id, pg_temp.pn_build(node, delta ORDER BY seq DESC) AS c
              FROM pn_ops GROUP BY id) r USING (id)
WHERE pn.c <> r.c;

-- text and binary round trips
SELECT count(*) AS text_round_trip_failures
FROM pn WHERE (c::text)::tidal.pncounter <> c;
CREATE TEMP TABLE pn_copy (id int, c tidal.pncounter, total numeric);
SELECT pg_temp.copy_through_file('pn', 'pn_copy');
SELECT count(*) AS copied,
       count(*) FILTER (WHERE pn.c <> pn_copy.c) AS binary_round_trip_failures
FROM pn JOIN pn_copy USING (id);

-- commutativity, associativity and idempotence of merge
CREATE TEMP TABLE pn_triples AS
SELECT a.c AS a, b.c AS b, c.c AS c
FROM pn a
JOIN pn b ON b.id = (a.id * 7) % 3000 + 1
JOIN pn c ON c.id = (a.id * 13 + 5) % 3000 + 1;
SELECT count(*) AS triples,
       count(*) FILTER (WHERE tidal.pncounter_merge(a, b) <> tidal.pncounter_merge(b, a))
           AS commutativity_violations,
       count(*) FILTER (WHERE tidal.pncounter_merge(tidal.pncounter_merge(a, b), c) <>
                              tidal.pncounter_merge(a, tidal.pncounter_merge(b, c)))
           AS associativity_violations,
       count(*) FILTER (WHERE tidal.pncounter_merge(a, a) <> a) AS idempotence_violations,
       count(*) FILTER (WHERE tidal.pncounter_merge(tidal.pncounter_merge(a, b), b) <>
                              tidal.pncounter_merge(a, b)) AS reabsorb_violations
FROM pn_triples;

-- the merge is an upper bound: merging in a replica never lowers any total
SELECT count(*) AS monotonicity_violations
FROM pn_triples, LATERAL (SELECT tidal.pncounter_merge(a, b) AS m) m
WHERE tidal.pncounter_merge(m, a) <> m OR tidal.pncounter_merge(m, b) <> m;

-- merge_agg equals folding merge over the rows, in any order
WITH RECURSIVE g AS (
    SELECT id % 300 AS grp, row_number() OVER (PARTITION BY id % 300 ORDER BY id) AS rn, c
    FROM pn
), fold AS (
    SELECT grp, rn, c AS acc FROM g WHERE rn = 1
    UNION ALL
    SELECT g.grp, g.rn, tidal.pncounter_merge(fold.acc, g.c)
    FROM fold JOIN g ON g.grp = fold.grp AND g.rn = fold.rn + 1
)
SELECT count(*) AS groups,
       count(*) FILTER (WHERE f.acc <> a.agg) AS merge_agg_violations,
       count(*) FILTER (WHERE a.agg <> a.agg_shuffled) AS order_violations
FROM (SELECT grp, acc FROM fold WHERE rn = 10) f
JOIN (SELECT id % 300 AS grp,
             tidal.pncounter_merge_agg(c ORDER BY id) AS agg,
             tidal.pncounter_merge_agg(c ORDER BY random()) AS agg_shuffled
      FROM pn GROUP BY 1) a USING (grp);

-- the same in parallel (partial aggregates combined with pncounter_merge)
CREATE TABLE pn_par AS SELECT id, c FROM pn;
ANALYZE pn_par;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT tidal.pncounter_merge_agg(c) FROM pn_par;
SELECT (SELECT tidal.pncounter_merge_agg(c) FROM pn_par) =
       (SELECT tidal.pncounter_merge_agg(c ORDER BY id) FROM pn) AS parallel_agrees;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
DROP TABLE pn_par;

-- replicas: each of 5 replicas counts only at its own node; the merge of the
-- final states counts every delta exactly once, and merging in stale
-- snapshots (prefixes of a replica's history) changes nothing
CREATE TEMP TABLE rep_ops AS
SELECT s AS seq, 1 + floor(random() * 5)::int AS replica,
       floor((random() - 0.4) * 1000)::bigint AS delta
FROM generate_series(1, 2000) s;
CREATE TEMP TABLE rep_states AS
SELECT replica, seq, pg_temp.pn_build(replica, delta) OVER (PARTITION BY replica ORDER BY seq) AS c
FROM rep_ops;
CREATE TEMP TABLE rep_final AS
SELECT DISTINCT ON (replica) replica, c FROM rep_states ORDER BY replica, seq DESC;
SELECT tidal.pncounter_value(tidal.pncounter_merge_agg(c)) = (SELECT sum(delta) FROM rep_ops)
    AS merged_value_is_total
FROM rep_final;
SELECT (SELECT tidal.pncounter_merge_agg(c) FROM rep_states) =
       (SELECT tidal.pncounter_merge_agg(c) FROM rep_final) AS stale_snapshots_ignored;
SELECT (SELECT tidal.pncounter_merge_agg(c)
        FROM (SELECT c FROM rep_final UNION ALL SELECT c FROM rep_final) d) =
       (SELECT tidal.pncounter_merge_agg(c) FROM rep_final) AS duplicates_ignored;
