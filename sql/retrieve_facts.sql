-- tidal.retrieve reads the items' facts (creator, creation time, small
-- metadata) from shared memory: they must follow tidal.item_data through
-- every way it changes -- a commit, an abort, a subtransaction rolled back,
-- the caller's own uncommitted writes, a tenant moving out, a write to the
-- table by other ways, a rebuild -- and give the answers the table gives.
SET timezone = 'UTC';

SELECT tidal.define_signal('f_view', '7 days');
SELECT tidal.register_tenant(71, 'facts') IS NOT NULL AS ok;
\set at '''2026-01-01 00:00:00+00'''
\set cands '''{1,2,3,4,5,6}'''

-- items 1..6 of tenant 71: item i has i views; creators 1 (items 1-3), 2 (4-6)
SELECT count(tidal.upsert_item(i, CASE WHEN i <= 3 THEN 1 ELSE 2 END,
                               jsonb_build_object('lang', CASE WHEN i % 2 = 0 THEN 'en' ELSE 'fr' END),
                               '2026-01-01', tenant => 71))
  FROM generate_series(1, 6) i;
SELECT tidal.signal_batch('f_view', array_agg(i), NULL, array_agg(:at::timestamptz), tenant => 71)
  FROM generate_series(1, 6) i, generate_series(1, i) n;

-- one item per creator: 6 (creator 2) and 3 (creator 1)
SELECT item_id, rank FROM tidal.retrieve(NULL, :cands, 'popular', max_per_creator => 1, at => :at, tenant => 71);
-- every item of the tenant (NULL candidates)
SELECT item_id, rank FROM tidal.retrieve(NULL, NULL, 'popular', lim => 3, at => :at, tenant => 71);

-- a committed upsert: item 5 moves to creator 3, and is taken beside 6 and 3
SELECT tidal.upsert_item(5, 3, '{"lang": "fr"}', '2026-01-01', tenant => 71) IS NOT NULL AS ok;
SELECT item_id, rank FROM tidal.retrieve(NULL, :cands, 'popular', max_per_creator => 1, at => :at, tenant => 71);

-- the caller's own uncommitted upsert counts; rolled back, it never did
BEGIN;
SELECT tidal.upsert_item(5, 2, '{"lang": "fr"}', '2026-01-01', tenant => 71) IS NOT NULL AS ok;
SELECT item_id, rank FROM tidal.retrieve(NULL, :cands, 'popular', max_per_creator => 1, at => :at, tenant => 71);
ROLLBACK;
SELECT item_id, rank FROM tidal.retrieve(NULL, :cands, 'popular', max_per_creator => 1, at => :at, tenant => 71);

-- a subtransaction rolled back drops its upsert, the one before it stays
BEGIN;
SELECT tidal.upsert_item(6, 1, '{"lang": "de"}', '2026-01-01', tenant => 71) IS NOT NULL AS ok;
SAVEPOINT s;
SELECT tidal.upsert_item(6, 3, '{"lang": "en"}', '2026-01-01', tenant => 71) IS NOT NULL AS ok;
ROLLBACK TO SAVEPOINT s;
SELECT item_id FROM tidal.retrieve(NULL, :cands, 'popular', '{"lang": "de"}', at => :at, tenant => 71);
COMMIT;
SELECT item_id FROM tidal.retrieve(NULL, :cands, 'popular', '{"lang": "de"}', at => :at, tenant => 71);
SELECT item_id FROM tidal.retrieve(NULL, :cands, 'popular', '{"lang": "en"}', at => :at, tenant => 71);

-- an item new in this transaction is ranked with NULL candidates, and only in it
BEGIN;
SELECT tidal.upsert_item(7, 4, '{"lang": "en"}', '2026-01-01', tenant => 71) IS NOT NULL AS ok;
SELECT tidal.signal_batch('f_view', array_fill(7::bigint, ARRAY[10]), NULL, array_fill(:at::timestamptz, ARRAY[10]), tenant => 71);
SELECT item_id, rank FROM tidal.retrieve(NULL, NULL, 'popular', '{"lang": "en"}', at => :at, tenant => 71);
ROLLBACK;
SELECT item_id, rank FROM tidal.retrieve(NULL, NULL, 'popular', '{"lang": "en"}', at => :at, tenant => 71);

-- metadata too large for shared memory (tidal.item_metadata_bytes): the
-- filter reads it from the table, with the same answer
SELECT tidal.upsert_item(2, 1, jsonb_build_object('lang', 'en', 'note', repeat('x', 500)),
                         '2026-01-01', tenant => 71) IS NOT NULL AS ok;
SELECT item_id, rank FROM tidal.retrieve(NULL, :cands, 'popular', '{"lang": "en"}', at => :at, tenant => 71);
SELECT item_id, rank FROM tidal.retrieve(NULL, NULL, 'popular', '{"lang": "en"}', at => :at, tenant => 71);

-- freshness reads the creation time: a newer item 1 outranks the others
SELECT tidal.define_profile('f_fresh', '{"freshness": {"half_life": "1 day"}}') IS NOT NULL AS ok;
SELECT tidal.upsert_item(1, 1, '{"lang": "fr"}', '2026-01-03', tenant => 71) IS NOT NULL AS ok;
SELECT item_id, round(score::numeric, 6) AS score FROM tidal.retrieve(NULL, :cands, 'f_fresh', lim => 2, at => '2026-01-03', tenant => 71);

-- a write to tidal.item_data by other ways than tidal's own calls (here an
-- operator's UPDATE) is read too: the next use rebuilds the facts
UPDATE tidal.item_data SET creator = 9 WHERE tenant = 71 AND item = 3;
SELECT item_id, rank FROM tidal.retrieve(NULL, :cands, 'popular', max_per_creator => 1, at => :at, tenant => 71);
-- and after tidal._reset_state, the rebuild loads the same facts
SELECT tidal._reset_state();
SELECT item_id, rank FROM tidal.retrieve(NULL, :cands, 'popular', max_per_creator => 1, at => :at, tenant => 71);

-- a blocked creator: its items go, whatever the facts said before
SELECT tidal.block_creator(50, 9, tenant => 71) IS NOT NULL AS blocked;
SELECT item_id FROM tidal.retrieve(50, :cands, 'popular', at => :at, tenant => 71);

-- the tenant moves out of this region: its items go from the facts too
SELECT tidal.register_tenant(71, 'facts', required_regions => '{5}') IS NOT NULL AS moved_out;
SELECT count(*) AS items_left FROM tidal.item_data WHERE tenant = 71;
SELECT count(*) AS ranked FROM tidal.retrieve(NULL, NULL, 'popular', at => :at, tenant => 71);
SELECT item_id, rank FROM tidal.retrieve(NULL, '{4,5,6}', 'popular', max_per_creator => 1, at => :at, tenant => 71);
-- and back: moving in loads them from the log again
SELECT tidal.register_tenant(71, 'facts', required_regions => '{0}') IS NOT NULL AS moved_in;
SELECT item_id, rank FROM tidal.retrieve(NULL, :cands, 'popular', max_per_creator => 1, at => :at, tenant => 71);

-- the metadata filter decided in shared memory is jsonb's @>: a flat filter
-- of scalars takes a key lookup per pair, any other filter jsonb's own walk;
-- both must keep exactly the items whose metadata @> filter (tenant 72)
SELECT tidal.register_tenant(72, 'filters') IS NOT NULL AS ok;
SELECT count(tidal.upsert_item(i, NULL, m::jsonb, '2026-01-01', tenant => 72))
  FROM (VALUES (1, '{"lang": "en", "n": 1}'), (2, '{"lang": "en", "n": 1.0}'),
               (3, '{"lang": "fr", "n": 2, "ok": true}'), (4, '{"lang": null}'),
               (5, '{"lang": "en", "tags": ["a", "b"]}'), (6, '{"nested": {"x": 1, "y": 2}}'),
               (7, '{"ok": false}'), (8, '{"lang": "en", "n": "1"}'), (9, '{}'),
               (10, '{"lang": "english"}'), (11, '{"LANG": "en"}'), (12, '{"n": 10}')) AS v(i, m);
WITH f(filter) AS (VALUES ('{}'), ('{"lang": "en"}'), ('{"n": 1}'), ('{"n": 1.00}'), ('{"n": "1"}'),
                          ('{"lang": null}'), ('{"ok": true}'), ('{"ok": false}'), ('{"lang": "e"}'),
                          ('{"lang": "en", "n": 1}'), ('{"tags": "a"}'), ('{"tags": ["a"]}'),
                          ('{"nested": {"x": 1}}'), ('{"nested": {}}'), ('{"missing": 1}'))
SELECT f.filter, s.kept, s.kept IS NOT DISTINCT FROM t.contained AS scan_agrees,
       c.kept IS NOT DISTINCT FROM t.contained AS lookup_agrees
  FROM f,
       LATERAL (SELECT array_agg(item_id ORDER BY item_id) AS kept
                  FROM tidal.retrieve(NULL, NULL, 'popular', f.filter::jsonb, lim => 100,
                                      at => :at, tenant => 72)) AS s,
       LATERAL (SELECT array_agg(item_id ORDER BY item_id) AS kept
                  FROM tidal.retrieve(NULL, '{1,2,3,4,5,6,7,8,9,10,11,12}', 'popular', f.filter::jsonb,
                                      lim => 100, at => :at, tenant => 72)) AS c,
       LATERAL (SELECT array_agg(item ORDER BY item) AS contained
                  FROM tidal.item_data WHERE tenant = 72 AND metadata @> f.filter::jsonb) AS t;
