-- tidal.last_query_stats: how the last tidal.retrieve of the session made its answer.
SET timezone = 'UTC';

-- a fresh session has none
\c
SELECT tidal.last_query_stats() IS NULL AS none_yet;

SELECT tidal.define_signal('q_view', '1 day');
SELECT tidal.define_profile('q_one', '{"terms": [{"signal": "q_view"}]}') IS NOT NULL AS ok;
-- 12 items of 2 creators, 6 of them tagged "keep"; item i has i views
SELECT count(tidal.upsert_item(i, i % 2, jsonb_build_object('keep', i <= 5006), '2026-01-01'))
  FROM generate_series(5001, 5012) i;
SELECT tidal.signal_batch('q_view', array_agg(i), NULL, array_agg('2026-01-01'::timestamptz))
  FROM generate_series(5001, 5012) i, generate_series(1, (i - 5000)::int) n;
SELECT tidal.hide_item(9, 5001) IS NOT NULL AND tidal.hide_item(9, 5002) IS NOT NULL AS hid;

-- 13 distinct candidates (5013 is unknown and given twice); 5001 and 5002
-- hidden; 5007..5012 and the unknown item fail the filter; 5003..5006 scored;
-- one per creator and a limit of 2: 5006 (creator 0) and 5005 (creator 1)
-- fill the page before diversity has to skip anything.
SELECT item_id FROM tidal.retrieve(9, '{5001,5002,5003,5004,5005,5006,5007,5008,5009,5010,5011,5012,5013,5013}',
                                   'q_one', '{"keep": true}', 1, 2, '2026-01-01');
SELECT s - 'elapsed_us' AS stats, (s->>'elapsed_us')::bigint >= 0 AS elapsed_ok
  FROM tidal.last_query_stats() s;

-- with room for 3, diversity skips 5004 (creator 0 again) and 5003 (creator 1
-- again): only 2 come back
SELECT item_id FROM tidal.retrieve(9, '{5001,5002,5003,5004,5005,5006}', 'q_one', '{"keep": true}', 1, 3, '2026-01-01');
SELECT s - 'elapsed_us' AS stats FROM tidal.last_query_stats() s;

-- without a user, filter or diversity: everything is scored
SELECT count(*) FROM tidal.retrieve(NULL, '{5001,5002,5003}', 'q_one', at => '2026-01-01');
SELECT s - 'elapsed_us' AS stats FROM tidal.last_query_stats() s;

-- a failed retrieve leaves the previous stats in place
SELECT * FROM tidal.retrieve(profile => 'nope');
SELECT s->'candidates' AS candidates FROM tidal.last_query_stats() s;

-- stats are per session
\c
SELECT tidal.last_query_stats() IS NULL AS new_session_has_none;
