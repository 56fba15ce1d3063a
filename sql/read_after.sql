-- Reads that wait for a write: after => <the tidal.hlc a write returned>
-- makes decay_score, window_count, velocity and retrieve answer once that
-- write is visible on this node; tidal.await_write waits for it alone. On a
-- single node every write is its own, visible at once; a write of a node
-- whose log never arrives here is an error after tidal.read_after_timeout.
SET timezone = 'UTC';
SET client_min_messages = warning;
SELECT tidal.define_signal('ra_view', '1 day', '{1 hour}');
CREATE TEMP TABLE w AS SELECT tidal.signal('ra_view', 90707, 2, '2026-01-01') AS hlc;

-- this node's own write: no wait
SELECT tidal.decay_score(90707, 'ra_view', '2026-01-01', after => (SELECT hlc FROM w)) AS score;
SELECT tidal.window_count(90707, 'ra_view', '1 hour', '2026-01-01', after => (SELECT hlc FROM w)) AS in_window;
SELECT tidal.velocity(90707, 'ra_view', '1 hour', '2026-01-01', after => (SELECT hlc FROM w)) AS per_hour;
SELECT tidal.await_write((SELECT hlc FROM w)) AS waited_ms;
SELECT tidal.upsert_item(90707, 1, '{}', '2025-12-31') IS NOT NULL AS item;
SELECT item_id FROM tidal.retrieve(candidates => '{90707}', at => '2026-01-01', after => (SELECT hlc FROM w));
SELECT s->>'role' AS role, s->>'staleness_ms' AS staleness_ms, (s->'after_wait_ms') IS NOT NULL AS waited
  FROM tidal.last_query_stats() s;

-- after NULL (the default) does not wait; NULL in another argument still answers NULL
SELECT tidal.decay_score(90707, 'ra_view', '2026-01-01', after => NULL) AS score;
SELECT tidal.decay_score(NULL, 'ra_view') IS NULL AS null_entity,
       tidal.window_count(90707, NULL, '1 hour') IS NULL AS null_name,
       tidal.velocity(90707, 'ra_view', NULL) IS NULL AS null_window,
       tidal.decay_score(90707, 'ra_view', NULL) IS NULL AS null_at;

-- a write of node 4242, whose log this node never sees: a clear error once the wait is over
SET tidal.read_after_timeout = '50ms';
SELECT tidal.decay_score(90707, 'ra_view', '2026-01-01', after => '(1767225600000000000,0,4242)');
SELECT tidal.await_write('(1767225600000000000,0,4242)', '20ms');
SELECT * FROM tidal.retrieve(candidates => '{90707}', after => '(1767225600000000000,0,4242)');
RESET tidal.read_after_timeout;

-- bad arguments
SELECT tidal.await_write(NULL);
SELECT tidal.await_write((SELECT hlc FROM w), '-1 s');
SELECT tidal.await_write((SELECT hlc FROM w), '2 hours');
SET tidal.read_after_timeout = -1;

-- the internal call a shard sibling makes is not for PUBLIC
SELECT has_function_privilege('public', 'tidal._await_write(tidal.hlc, int, int, int, bigint)', 'EXECUTE') AS public_may;
