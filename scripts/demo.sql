-- tidal demo: decaying signals with exact scores and sliding windows.
-- Run by scripts/demo.sh (psql -X -q -v ON_ERROR_STOP=1); safe to run again,
-- each run records a few more events.
\set ON_ERROR_STOP on

\echo '== 1. Define two signals (once) =='
\echo '   view: half-life 7 days, windowed counts over the last 1 hour and 24 hours'
\echo '   like: half-life 1 day'
\o /dev/null
SELECT tidal.define_signal('view', '7 days', ARRAY['1 hour', '24 hours']::interval[])
WHERE NOT EXISTS (SELECT 1 FROM tidal.signals WHERE name = 'view');
SELECT tidal.define_signal('like', '1 day')
WHERE NOT EXISTS (SELECT 1 FROM tidal.signals WHERE name = 'like');
\o
SELECT * FROM tidal.signals ORDER BY name;

\echo '== 2. Record events =='
\echo '   item 42 was viewed 2 hours ago; items 1, 2, 3 are viewed now, item 2 once more;'
\echo '   item 2 is liked now'
\o /dev/null
SELECT tidal.signal('view', 42, 1.0, now() - interval '2 hours');
SELECT tidal.signal_batch('view', ARRAY[1, 2, 3]::bigint[]);
SELECT tidal.signal('view', 2, 1.0, now());
SELECT tidal.signal('like', 2, 1.0, now());
\o

\echo '== 3. Decayed scores and window counts, computed now =='
\echo '   (on the first run item 42 has one event of weight 1 from 2 hours ago; with a 7-day half-life it scores 2^(-2/168) = 0.9918)'
SELECT e AS item,
       round(tidal.decay_score(e, 'view')::numeric, 4) AS view_score,
       round(tidal.decay_score(e, 'like')::numeric, 4) AS like_score,
       tidal.window_count(e, 'view', '1 hour') AS views_last_hour,
       tidal.window_count(e, 'view', '24 hours') AS views_last_day
FROM unnest(ARRAY[1, 2, 3, 42]::bigint[]) AS e
ORDER BY view_score DESC, item;

\echo '== 4. tidal''s own log: committed events sealed into numbered batches =='
SELECT pg_sleep(0.5) \g /dev/null
SELECT segment_id, batch_no, first_seq, last_seq, event_count, bytes
  FROM tidal.log_batches ORDER BY batch_no DESC LIMIT 3;
