--
-- tidal.lww: text and binary I/O, set, value, at, merge, merge_agg,
-- equality, and the CRDT laws on random registers (with hlc ties).
--
-- Operators live in schema tidal; put it on the path so they resolve.
SET search_path = public, tidal;

--
-- text I/O: (wall_ns,logical,node):"value", with \" and \\ escaped
--
SELECT '(1764000000000000000,3,1):"hello"'::tidal.lww;
SELECT ' ( 1 , 2 , 3 ) : "x" '::tidal.lww;
SELECT '(0,0,0):""'::tidal.lww;
SELECT '(1,2,3):"say \"hi\" \\ bye"'::tidal.lww;
SELECT '(1,2,3):"a,b:c(d)"'::tidal.lww;
SELECT tidal.lww_value('(1,2,3):"say \"hi\" \\ bye"');
SELECT length(tidal.lww_value('(1,2,3):"\\\\"'));

-- malformed or out of range
SELECT ''::tidal.lww;
SELECT '"x"'::tidal.lww;
SELECT '(1,2,3)'::tidal.lww;
SELECT '(1,2,3)"x"'::tidal.lww;
SELECT '(1,2,3):'::tidal.lww;
SELECT '(1,2,3):x'::tidal.lww;
SELECT '(1,2,3):"abc'::tidal.lww;
SELECT '(1,2,3):"abc\"'::tidal.lww;
SELECT '(1,2,3):"a\nb"'::tidal.lww;
SELECT '(1,2,3):"a"b'::tidal.lww;
SELECT '(1,2,3):"a""b"'::tidal.lww;
SELECT '(1,2):"a"'::tidal.lww;
SELECT '(-1,0,0):"a"'::tidal.lww;
SELECT '(1,0,70000):"a"'::tidal.lww;

--
-- lww_set, lww_value, lww_at
--
SELECT tidal.lww_set(NULL, 'first', '(10,0,1)');
SELECT tidal.lww_set('(10,0,1):"first"', 'newer', '(11,0,1)');
SELECT tidal.lww_set('(10,0,1):"first"', 'older', '(9,5,1)');
SELECT tidal.lww_set('(10,0,1):"first"', 'other node', '(10,0,2)');
SELECT tidal.lww_set('(10,0,2):"first"', 'lower node', '(10,0,1)');
SELECT tidal.lww_set('(10,0,1):"first"', 'next logical', '(10,1,0)');
-- equal hlc: the greater value in byte order wins, whichever came first
SELECT tidal.lww_set('(10,0,1):"apple"', 'banana', '(10,0,1)');
SELECT tidal.lww_set('(10,0,1):"banana"', 'apple', '(10,0,1)');
SELECT tidal.lww_set('(10,0,1):"a"', 'ab', '(10,0,1)');
SELECT tidal.lww_set('(10,0,1):"ab"', 'a', '(10,0,1)');
SELECT tidal.lww_set('(10,0,1):"B"', 'a', '(10,0,1)');
SELECT tidal.lww_set('(10,0,1):""', '', '(10,0,1)');
SELECT tidal.lww_value(tidal.lww_set(NULL, 'v', tidal.hlc(5, 0, 1))),
       tidal.lww_at(tidal.lww_set(NULL, 'v', tidal.hlc(5, 0, 1)));
SELECT tidal.lww_value(NULL) IS NULL AND tidal.lww_at(NULL) IS NULL AS strict;
-- errors
SELECT tidal.lww_set(NULL, NULL, '(1,0,1)');
SELECT tidal.lww_set('(1,0,1):"x"', 'y', NULL);
SELECT tidal.lww_set(NULL, NULL, NULL);

--
-- lww_merge and lww_merge_agg
--
SELECT tidal.lww_merge('(10,0,1):"a"', '(11,0,1):"b"');
SELECT tidal.lww_merge('(11,0,1):"b"', '(10,0,1):"a"');
SELECT tidal.lww_merge('(10,0,1):"zzz"', '(10,0,2):"a"');
SELECT tidal.lww_merge('(10,0,1):"a"', '(10,0,1):"b"');
SELECT tidal.lww_merge('(10,0,1):"b"', '(10,0,1):"a"');
SELECT tidal.lww_merge(NULL, '(10,0,1):"a"');
SELECT tidal.lww_merge('(10,0,1):"a"', NULL);
SELECT tidal.lww_merge(NULL, NULL) IS NULL AS both_null;

SELECT tidal.lww_merge_agg(r)
FROM (VALUES ('(10,0,1):"a"'::tidal.lww), (NULL), ('(12,0,1):"c"'), ('(11,9,9):"b"')) v(r);
SELECT tidal.lww_merge_agg(r) IS NULL AS empty_is_null
FROM (VALUES ('(10,0,1):"a"'::tidal.lww)) v(r) WHERE false;

--
-- equality: same hlc and same value
--
SELECT a, b, a = b AS eq, a <> b AS ne
FROM (VALUES ('(1,2,3):"x"'::tidal.lww, '(1,2,3):"x"'::tidal.lww),
             ('(1,2,3):"x"', '(1,2,3):"y"'),
             ('(1,2,3):"x"', '(1,2,4):"x"'),
             ('(1,2,3):"x"', '(1,2,3):"x "'),
             ('(1,2,3):""', '(1,2,3):""')) v(a, b);

--
-- binary I/O
--
SELECT tidal.lww_send('(1,2,3):"hi"');
SELECT tidal.lww_send('(1,2,3):""');

-- COPY to a file in the (temporary) data directory and back in binary form
CREATE FUNCTION pg_temp.copy_through_file(src text, dst text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    f text := current_setting('data_directory') || '/tidal_lww_test.bin';
BEGIN
    EXECUTE format('COPY %s TO %L (FORMAT binary)', src, f);
    EXECUTE format('COPY %s FROM %L (FORMAT binary)', dst, f);
END
$$;

-- lww_recv validates: feed it hand-made bytes through a bytea column, whose
-- binary form is its raw bytes
CREATE TEMP TABLE raw_bytes (b bytea);
CREATE TEMP TABLE lww_in (r tidal.lww);
-- (1,2,3) and the value "hi!", double quotes included
INSERT INTO raw_bytes VALUES (decode(replace(
    '0000000000000001 00000002 00000003 2268692122', ' ', ''), 'hex'));
SELECT pg_temp.copy_through_file('raw_bytes', 'lww_in');
SELECT * FROM lww_in;
\set SHOW_CONTEXT never
TRUNCATE raw_bytes;
-- node id out of range
INSERT INTO raw_bytes VALUES (decode(replace(
    '0000000000000001 00000002 00010000 6869', ' ', ''), 'hex'));
SELECT pg_temp.copy_through_file('raw_bytes', 'lww_in');
TRUNCATE raw_bytes;
-- negative wall time
INSERT INTO raw_bytes VALUES (decode(replace(
    '8000000000000000 00000002 00000003 6869', ' ', ''), 'hex'));
SELECT pg_temp.copy_through_file('raw_bytes', 'lww_in');
TRUNCATE raw_bytes;
-- too short for an hlc
INSERT INTO raw_bytes VALUES (decode(replace(
    '0000000000000001 0000', ' ', ''), 'hex'));
SELECT pg_temp.copy_through_file('raw_bytes', 'lww_in');
\set SHOW_CONTEXT errors
SELECT count(*) FROM lww_in;

--
-- properties on random registers
--
SELECT setseed(0.4321);

-- 3,000 registers built with lww_set from random writes; hlcs are drawn from
-- a small range so that many writes tie on the hlc with different values
CREATE TEMP TABLE lww_ops AS
SELECT s AS seq,
       1 + floor(random() * 3000)::int AS id,
       tidal.hlc(1764000000000000000 + floor(random() * 4)::bigint,
                 floor(random() * 2)::int, 1 + floor(random() * 2)::int) AS at,
       (ARRAY['', 'a', 'b', 'ab', 'B', 'a"b', 'a\b', 'zz'])[1 + floor(random() * 8)::int] AS value
FROM generate_series(1, 12000) s;

CREATE AGGREGATE pg_temp.lww_build(text, tidal.hlc) (
    SFUNC = tidal.lww_set, STYPE = tidal.lww);

CREATE TEMP TABLE reg AS
SELECT id, pg_temp.lww_build(value, at ORDER BY seq) AS r
FROM lww_ops GROUP BY id;

SELECT count(*) AS registers, count(DISTINCT r::text) AS distinct_registers,
       count(DISTINCT tidal.lww_at(r)) AS distinct_hlcs
FROM reg;
-- how many registers saw a tie (two writes with the same hlc but different values)
SELECT count(DISTINCT id) AS registers_with_ties
FROM lww_ops a JOIN lww_ops b USING (id)
WHERE a.at = b.at AND a.value < b.value;

-- each register holds the largest write under (hlc, value in byte order),
-- whatever the order of the writes
SELECT count(*) AS winner_mismatches
FROM reg
JOIN (SELECT DISTINCT ON (id) id, at, value
      FROM lww_ops ORDER BY id, at DESC, value COLLATE "C" DESC) w USING (id)
WHERE tidal.lww_at(r) <> w.at OR tidal.lww_value(r) <> w.value;
SELECT count(*) AS set_order_mismatches
FROM reg JOIN (SELECT id, pg_temp.lww_build(value, at ORDER BY seq DESC) AS r
               FROM lww_ops GROUP BY id) x USING (id)
WHERE reg.r <> x.r;

-- text and binary round trips
SELECT count(*) AS text_round_trip_failures
FROM reg WHERE (r::text)::tidal.lww <> r;
CREATE TEMP TABLE reg_copy (id int, r tidal.lww);
SELECT pg_temp.copy_through_file('reg', 'reg_copy');
SELECT count(*) AS copied,
       count(*) FILTER (WHERE reg.r <> reg_copy.r) AS binary_round_trip_failures
FROM reg JOIN reg_copy USING (id);

-- commutativity, associativity and idempotence of merge
CREATE TEMP TABLE lww_triples AS
SELECT a.r AS a, b.r AS b, c.r AS c
FROM reg a
JOIN reg b ON b.id = (a.id * 7) % 3000 + 1
JOIN reg c ON c.id = (a.id * 13 + 5) % 3000 + 1;
SELECT count(*) AS triples,
       count(*) FILTER (WHERE a = b) AS equal_pairs,
       count(*) FILTER (WHERE tidal.lww_at(a) = tidal.lww_at(b) AND a <> b) AS hlc_ties
FROM lww_triples;
SELECT count(*) FILTER (WHERE tidal.lww_merge(a, b) <> tidal.lww_merge(b, a))
           AS commutativity_violations,
       count(*) FILTER (WHERE tidal.lww_merge(tidal.lww_merge(a, b), c) <>
                              tidal.lww_merge(a, tidal.lww_merge(b, c)))
           AS associativity_violations,
       count(*) FILTER (WHERE tidal.lww_merge(a, a) <> a) AS idempotence_violations,
       count(*) FILTER (WHERE tidal.lww_merge(a, b) <> a AND tidal.lww_merge(a, b) <> b)
           AS non_selecting_merges,
       count(*) FILTER (WHERE tidal.lww_set(a, tidal.lww_value(b), tidal.lww_at(b)) <>
                              tidal.lww_merge(a, b)) AS set_merge_mismatches
FROM lww_triples;

-- merge_agg equals folding merge over the rows, in any order
WITH RECURSIVE g AS (
    SELECT id % 300 AS grp, row_number() OVER (PARTITION BY id % 300 ORDER BY id) AS rn, r
    FROM reg
), fold AS (
    SELECT grp, rn, r AS acc FROM g WHERE rn = 1
    UNION ALL
    SELECT g.grp, g.rn, tidal.lww_merge(fold.acc, g.r)
    FROM fold JOIN g ON g.grp = fold.grp AND g.rn = fold.rn + 1
)
SELECT count(*) AS groups,
       count(*) FILTER (WHERE f.acc <> a.agg) AS merge_agg_violations,
       count(*) FILTER (WHERE a.agg <> a.agg_shuffled) AS order_violations
FROM (SELECT DISTINCT ON (grp) grp, acc FROM fold ORDER BY grp, rn DESC) f
JOIN (SELECT id % 300 AS grp,
             tidal.lww_merge_agg(r ORDER BY id) AS agg,
             tidal.lww_merge_agg(r ORDER BY random()) AS agg_shuffled
      FROM reg GROUP BY 1) a USING (grp);

-- replicas that exchange their registers converge on the overall winner
SELECT tidal.lww_merge_agg(r) = (SELECT tidal.lww_set(NULL, value, at)
                                 FROM lww_ops ORDER BY at DESC, value COLLATE "C" DESC LIMIT 1)
    AS converged
FROM reg;
