--
-- tidal.hlc: text and binary I/O, accessors, operators, btree and hash
-- opclasses, and this node's clock (hlc_now, hlc_receive).
--
-- Operators live in schema tidal; put it on the path so they resolve.
SET search_path = public, tidal;
SET timezone = 'UTC';
SELECT setseed(0.25);

--
-- text I/O
--
SELECT '(1764000000000000000,3,1)'::tidal.hlc;
SELECT '  ( 1764000000000000000 , 3 ,1 )  '::tidal.hlc;
SELECT '(0,0,0)'::tidal.hlc;
SELECT '(9223372036854775807,2147483647,65535)'::tidal.hlc;

-- malformed or out of range
SELECT ''::tidal.hlc;
SELECT '1,2,3'::tidal.hlc;
SELECT '(1,2)'::tidal.hlc;
SELECT '(1,2,3'::tidal.hlc;
SELECT '(1,2,3,4)'::tidal.hlc;
SELECT '(1,2,3) x'::tidal.hlc;
SELECT '(a,2,3)'::tidal.hlc;
SELECT '(1.5,2,3)'::tidal.hlc;
SELECT '(+1,2,3)'::tidal.hlc;
SELECT '(-1,0,0)'::tidal.hlc;
SELECT '(1,-1,0)'::tidal.hlc;
SELECT '(1,2147483648,0)'::tidal.hlc;
SELECT '(1,0,-1)'::tidal.hlc;
SELECT '(1,0,65536)'::tidal.hlc;
SELECT '(9223372036854775808,0,0)'::tidal.hlc;

-- text round trip
SELECT count(*) AS text_round_trip_failures
FROM (SELECT tidal.hlc((random() * 9.2e18)::bigint, (random() * 2147483647)::int,
                       (random() * 65535)::int) AS h
      FROM generate_series(1, 1000)) s
WHERE (h::text)::tidal.hlc <> h;

--
-- constructor and accessors
--
SELECT tidal.hlc(1764000000123456789, 7, 42);
SELECT tidal.hlc_wall_ns(h), tidal.hlc_logical(h), tidal.hlc_node(h)
FROM (SELECT '(1764000000123456789,7,42)'::tidal.hlc AS h) s;
SELECT tidal.hlc_to_timestamptz('(1764000000123456789,7,42)');
SELECT tidal.hlc_to_timestamptz('(0,0,0)');
SELECT tidal.hlc_to_timestamptz('(999,0,0)');
SELECT tidal.hlc_to_timestamptz('(9223372036854775807,0,0)');
SELECT tidal.hlc(-1, 0, 0);
SELECT tidal.hlc(0, -1, 0);
SELECT tidal.hlc(0, 0, 65536);
SELECT tidal.hlc(0, 0, -1);
SELECT tidal.hlc(NULL, 0, 0) IS NULL AS strict;

--
-- binary I/O
--
SELECT tidal.hlc_send('(1,2,3)');
SELECT tidal.hlc_send('(1764000000000000000,2147483647,65535)');

CREATE TEMP TABLE hlc_bin (h tidal.hlc);
INSERT INTO hlc_bin
SELECT tidal.hlc((random() * 9.2e18)::bigint, (random() * 2147483647)::int,
                 (random() * 65535)::int)
FROM generate_series(1, 1000);
INSERT INTO hlc_bin VALUES ('(0,0,0)'), ('(9223372036854775807,2147483647,65535)'), (NULL);
CREATE TEMP TABLE hlc_bin_copy (h tidal.hlc);

-- COPY to a file in the (temporary) data directory and back in binary form
CREATE FUNCTION pg_temp.copy_through_file(src text, dst text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    f text := current_setting('data_directory') || '/tidal_hlc_test.bin';
BEGIN
    EXECUTE format('COPY %s TO %L (FORMAT binary)', src, f);
    EXECUTE format('COPY %s FROM %L (FORMAT binary)', dst, f);
END
$$;
SELECT pg_temp.copy_through_file('hlc_bin', 'hlc_bin_copy');
SELECT count(*) AS copied, count(h) AS not_null FROM hlc_bin_copy;
-- every row came back identical (as a multiset)
SELECT count(*) AS binary_round_trip_failures
FROM (SELECT h, count(*) AS n FROM hlc_bin WHERE h IS NOT NULL GROUP BY h) a
FULL JOIN (SELECT h, count(*) AS n FROM hlc_bin_copy WHERE h IS NOT NULL GROUP BY h) b
    USING (h)
WHERE a.n IS DISTINCT FROM b.n;

-- hlc_recv validates: feed it hand-made bytes through a bytea column, whose
-- binary form is its raw bytes
CREATE TEMP TABLE raw_bytes (b bytea);
CREATE TEMP TABLE hlc_in (h tidal.hlc);
INSERT INTO raw_bytes VALUES ('\x00000000000000010000000200000003');
SELECT pg_temp.copy_through_file('raw_bytes', 'hlc_in');
SELECT * FROM hlc_in;
\set SHOW_CONTEXT never
TRUNCATE raw_bytes;
INSERT INTO raw_bytes VALUES ('\xffffffffffffffff0000000000000001');  -- wall -1
SELECT pg_temp.copy_through_file('raw_bytes', 'hlc_in');
TRUNCATE raw_bytes;
INSERT INTO raw_bytes VALUES ('\x00000000000000018000000000000001');  -- logical < 0
SELECT pg_temp.copy_through_file('raw_bytes', 'hlc_in');
TRUNCATE raw_bytes;
INSERT INTO raw_bytes VALUES ('\x00000000000000010000000000010000');  -- node 65536
SELECT pg_temp.copy_through_file('raw_bytes', 'hlc_in');
TRUNCATE raw_bytes;
INSERT INTO raw_bytes VALUES ('\x000000000000000100000000');  -- too short
SELECT pg_temp.copy_through_file('raw_bytes', 'hlc_in');
TRUNCATE raw_bytes;
INSERT INTO raw_bytes VALUES ('\x0000000000000001000000000000000100');  -- too long
SELECT pg_temp.copy_through_file('raw_bytes', 'hlc_in');
\set SHOW_CONTEXT errors
SELECT count(*) FROM hlc_in;

--
-- comparison operators: order is wall, then logical, then node
--
CREATE TEMP TABLE hlc_pairs (a tidal.hlc, b tidal.hlc);
INSERT INTO hlc_pairs VALUES
    ('(1,0,0)', '(1,0,0)'),
    ('(1,0,0)', '(2,0,0)'),
    ('(2,0,0)', '(1,5,9)'),
    ('(1,1,0)', '(1,0,9)'),
    ('(1,1,1)', '(1,1,2)'),
    ('(1,1,2)', '(1,1,1)'),
    ('(9223372036854775807,0,0)', '(9223372036854775806,2147483647,65535)');
SELECT a, b, a < b AS lt, a <= b AS le, a = b AS eq, a <> b AS ne,
       a >= b AS ge, a > b AS gt, tidal.hlc_cmp(a, b) AS cmp
FROM hlc_pairs;

-- the operators agree with hlc_cmp and with a row comparison of the fields
SELECT count(*) AS operator_inconsistencies
FROM (SELECT tidal.hlc((random() * 3)::bigint, (random() * 3)::int, (random() * 3)::int) AS a,
             tidal.hlc((random() * 3)::bigint, (random() * 3)::int, (random() * 3)::int) AS b
      FROM generate_series(1, 3000)) s
WHERE (a < b) IS DISTINCT FROM (tidal.hlc_cmp(a, b) < 0)
   OR (a <= b) IS DISTINCT FROM (tidal.hlc_cmp(a, b) <= 0)
   OR (a = b) IS DISTINCT FROM (tidal.hlc_cmp(a, b) = 0)
   OR (a <> b) IS DISTINCT FROM (tidal.hlc_cmp(a, b) <> 0)
   OR (a >= b) IS DISTINCT FROM (tidal.hlc_cmp(a, b) >= 0)
   OR (a > b) IS DISTINCT FROM (tidal.hlc_cmp(a, b) > 0)
   OR tidal.hlc_cmp(a, b) <> -tidal.hlc_cmp(b, a)
   OR sign(tidal.hlc_cmp(a, b)) <>
      CASE WHEN ROW(tidal.hlc_wall_ns(a), tidal.hlc_logical(a), tidal.hlc_node(a)) <
                ROW(tidal.hlc_wall_ns(b), tidal.hlc_logical(b), tidal.hlc_node(b)) THEN -1
           WHEN ROW(tidal.hlc_wall_ns(a), tidal.hlc_logical(a), tidal.hlc_node(a)) =
                ROW(tidal.hlc_wall_ns(b), tidal.hlc_logical(b), tidal.hlc_node(b)) THEN 0
           ELSE 1 END;

-- the opclasses are well formed
SELECT opc.opcname, am.amname, opc.opcdefault, amvalidate(opc.oid)
FROM pg_opclass opc JOIN pg_am am ON am.oid = opc.opcmethod
WHERE opc.opcnamespace = 'tidal'::regnamespace AND opc.opcintype = 'tidal.hlc'::regtype
ORDER BY 1;
SELECT oprname, oprcanhash, oprcanmerge
FROM pg_operator WHERE oprleft = 'tidal.hlc'::regtype ORDER BY 1;

--
-- btree: sorting, index scans, merge join
--
CREATE TEMP TABLE hlc_t (id int, h tidal.hlc);
INSERT INTO hlc_t
SELECT i, tidal.hlc(1000 + i / 100, (i / 10) % 10, i % 10)
FROM generate_series(0, 999) i;
-- shuffle the physical order
CREATE TEMP TABLE hlc_s AS SELECT * FROM hlc_t ORDER BY random();
ANALYZE hlc_t;
ANALYZE hlc_s;

SELECT h FROM hlc_s ORDER BY h LIMIT 5;
SELECT h FROM hlc_s ORDER BY h DESC LIMIT 5;
SELECT count(*) AS order_violations
FROM (SELECT id, lag(id) OVER (ORDER BY h) AS prev FROM hlc_s) s
WHERE prev IS NOT NULL AND prev >= id;

CREATE INDEX hlc_s_btree ON hlc_s (h);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM hlc_s WHERE h = '(1005,2,3)';
SELECT id FROM hlc_s WHERE h = '(1005,2,3)';
EXPLAIN (COSTS OFF) SELECT id FROM hlc_s WHERE h > '(1009,8,7)' ORDER BY h;
SELECT id, h FROM hlc_s WHERE h > '(1009,8,7)' ORDER BY h;
SELECT id FROM hlc_s WHERE h >= '(1003,0,0)' AND h < '(1003,0,5)' ORDER BY h;
SELECT count(*) FROM hlc_s WHERE h <= '(1000,9,9)';
-- min and max use the index
EXPLAIN (COSTS OFF) SELECT max(h) FROM hlc_s;
SELECT min(h), max(h) FROM hlc_s;
RESET enable_seqscan;
RESET enable_bitmapscan;

SET enable_hashjoin = off;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM hlc_t t JOIN hlc_s s ON t.h = s.h;
SELECT count(*) AS matched, count(*) FILTER (WHERE t.id = s.id) AS same_id
FROM hlc_t t JOIN hlc_s s ON t.h = s.h;
RESET enable_hashjoin;
RESET enable_nestloop;

--
-- hash: hash join, hash aggregation, hash index
--
SELECT tidal.hlc_hash('(1,2,3)') = tidal.hlc_hash(tidal.hlc(1, 2, 3)) AS stable,
       tidal.hlc_hash('(1,2,3)') <> tidal.hlc_hash('(1,2,4)') AS differs;
-- the extended hash with seed 0 agrees with the 32-bit hash in its low bits
SELECT count(*) AS hash_extended_mismatches
FROM hlc_t
WHERE (tidal.hlc_hash(h)::bigint & 4294967295) <> (tidal.hlc_hash_extended(h, 0) & 4294967295);
SELECT count(DISTINCT tidal.hlc_hash_extended(h, 1)) = count(*) AS seeded_hashes_distinct
FROM hlc_t;

SET enable_mergejoin = off;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM hlc_t t JOIN hlc_s s ON t.h = s.h;
SELECT count(*) AS matched, count(*) FILTER (WHERE t.id = s.id) AS same_id
FROM hlc_t t JOIN hlc_s s ON t.h = s.h;
RESET enable_mergejoin;
RESET enable_nestloop;

SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT h, count(*) FROM (SELECT h FROM hlc_s UNION ALL SELECT h FROM hlc_t) u GROUP BY h;
SELECT count(*) AS groups, min(n), max(n)
FROM (SELECT h, count(*) AS n FROM (SELECT h FROM hlc_s UNION ALL SELECT h FROM hlc_t) u GROUP BY h) g;
RESET enable_sort;

CREATE INDEX hlc_s_hash ON hlc_s USING hash (h);
DROP INDEX hlc_s_btree;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM hlc_s WHERE h = '(1005,2,3)';
SELECT id FROM hlc_s WHERE h = '(1005,2,3)';
SELECT id FROM hlc_s WHERE h = '(1005,2,4)';
SELECT id FROM hlc_s WHERE h = '(1005,2,10)';
RESET enable_seqscan;
RESET enable_bitmapscan;

--
-- the clock
--
SHOW tidal.node_id;

-- hlc_now is strictly increasing over many calls and carries this node's id
CREATE TEMP TABLE clock_run AS
SELECT i, tidal.hlc_now() AS h FROM generate_series(1, 10000) i;
SELECT count(*) AS calls,
       count(*) FILTER (WHERE prev IS NOT NULL AND NOT h > prev) AS violations,
       count(*) FILTER (WHERE tidal.hlc_node(h) <> 1) AS wrong_node
FROM (SELECT i, h, lag(h) OVER (ORDER BY i) AS prev FROM clock_run) s;
-- and it tracks the wall clock
SELECT abs(extract(epoch FROM tidal.hlc_to_timestamptz(tidal.hlc_now()) - clock_timestamp())) < 1
    AS near_wall_clock;
-- later statements still get later values
SELECT tidal.hlc_now() > (SELECT max(h) FROM clock_run) AS later;

-- hlc_receive: a remote hlc far in the future is rejected (the message
-- carries the exact offset and the limit, so only their shape is shown)
DO $$
DECLARE
    msg text;
    detail text;
    hint text;
BEGIN
    PERFORM tidal.hlc_receive(tidal.hlc(
        (extract(epoch FROM clock_timestamp() + interval '1000 days') * 1e9)::bigint, 0, 2));
    RAISE NOTICE 'far-future hlc accepted';
EXCEPTION WHEN invalid_parameter_value THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                            hint = PG_EXCEPTION_HINT;
    RAISE NOTICE 'rejected: %', regexp_replace(msg, '[0-9]+\.[0-9]{3} ms', 'N ms');
    RAISE NOTICE 'detail: %', regexp_replace(detail, '[0-9]+ ms', 'N ms');
    RAISE NOTICE 'hint: %', hint;
END
$$;
-- the rejected hlc did not move the clock
SELECT tidal.hlc_to_timestamptz(tidal.hlc_now()) < clock_timestamp() + interval '1 day' AS clock_not_moved;

-- a remote hlc slightly (100 ms) ahead is accepted: the result is later than
-- it, and so is the next hlc_now
CREATE TEMP TABLE recv AS
SELECT remote, tidal.hlc_receive(remote) AS local
FROM (SELECT tidal.hlc((extract(epoch FROM clock_timestamp()) * 1e9)::bigint + 100000000,
                       5, 2) AS remote) s;
SELECT local > remote AS local_after_remote,
       tidal.hlc_node(local) AS node,
       tidal.hlc_now() > local AS now_after_local
FROM recv;

-- receiving at a logical counter that is already full moves to the next ns
SELECT tidal.hlc_logical(local) AS logical,
       tidal.hlc_wall_ns(local) > tidal.hlc_wall_ns(remote) AS next_ns,
       local > remote AS after
FROM (SELECT remote, tidal.hlc_receive(remote) AS local
      FROM (SELECT tidal.hlc((extract(epoch FROM clock_timestamp()) * 1e9)::bigint + 100000000,
                             2147483647, 2) AS remote) s) r;

-- a remote hlc from the past still yields a value after everything issued
SELECT tidal.hlc_receive('(1,0,2)') > (SELECT max(local) FROM recv) AS past_remote;
SELECT tidal.hlc_receive(NULL) IS NULL AS strict;

-- the comparison operators are found without tidal on the search_path
SET search_path = public;
SELECT tidal.hlc(1, 2, 3) < tidal.hlc(1, 3, 0) AS lt,
       tidal.hlc(1, 2, 3) = tidal.hlc(1, 2, 3) AS eq,
       '{1:5:2}'::tidal.pncounter = '{1:5:2}'::tidal.pncounter AS pn_eq;
