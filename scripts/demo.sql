-- tidal demo: decaying signals with exact scores and sliding windows, then
-- ranked feeds of items.
-- Run by scripts/demo.sh in region 0 (psql -X -q -v ON_ERROR_STOP=1), before
-- scripts/demo_regions.sql; safe to run again, each run records a few more events.
\set ON_ERROR_STOP on

-- a demo database made by an older tidal is brought up to date (no-op otherwise)
SET client_min_messages = warning;
ALTER EXTENSION tidal UPDATE;
RESET client_min_messages;

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
\echo '   the sealer seals them as the transaction commits; these are this region''s own'
\echo '   (segment_id = region:shard:first sequence number)'
SELECT pg_sleep(0.2) \g /dev/null
SELECT segment_id, batch_no, first_seq, last_seq, event_count, bytes
  FROM tidal.log_batches
 WHERE origin_region = current_setting('tidal.region_id')::int
 ORDER BY batch_no DESC LIMIT 3;

\echo '== 5. Items: who made them, and metadata to filter on =='
\echo '   items 1 and 2 are by creator 100, item 3 by creator 200, item 42 by creator 300;'
\echo '   an upsert replaces the whole item (last writer wins), so a re-run passes the'
\echo '   creation time it already has instead of resetting it to now()'
\o /dev/null
SELECT tidal.upsert_item(i.item, i.creator, i.metadata,
                         coalesce((SELECT created_at FROM tidal.items WHERE item_id = i.item),
                                  now() - i.age))
  FROM (VALUES (1::bigint, 100::bigint, '{"lang": "en", "topic": "cats"}'::jsonb, interval '3 days'),
               (2, 100, '{"lang": "en", "topic": "dogs"}', interval '1 day'),
               (3, 200, '{"lang": "fr", "topic": "cats"}', interval '2 hours'),
               (42, 300, '{"lang": "en", "topic": "birds"}', interval '5 days'))
       AS i (item, creator, metadata, age);
\o
SELECT item_id, creator, metadata, date_trunc('second', created_at) AS created_at
  FROM tidal.items ORDER BY item_id;

\echo '== 6. A ranked feed: tidal.retrieve with the built-in profile "popular" =='
\echo '   popular = the sum of each item''s decayed scores over all signals (view and like);'
\echo '   item 2 leads with the most views and a like; equal scores rank by item id'
SELECT rank, item_id, round(score::numeric, 4) AS score
  FROM tidal.retrieve(profile => 'popular');

\echo '== 7. User 7 hides item 2: it never comes back in their feed =='
\o /dev/null
SELECT tidal.hide_item(7, 2) WHERE NOT tidal.is_hidden(7, 2);
\o
SELECT rank, item_id, round(score::numeric, 4) AS score
  FROM tidal.retrieve(for_user => 7, profile => 'popular');
\echo '   tidal.last_query_stats() says how that answer was made: 4 candidates, 1 hidden, 3 returned'
SELECT key, value FROM jsonb_each(tidal.last_query_stats())
 WHERE key <> 'elapsed_us' ORDER BY key;

\echo '== 8. Trending, at most one item per creator =='
\echo '   trending = views per hour over the last hour, plus 0.01 x the decayed scores;'
\echo '   items 1 and 2 share creator 100, so item 1 is passed over for item 2'
SELECT r.rank, r.item_id, i.creator, round(r.score::numeric, 4) AS score
  FROM tidal.retrieve(profile => 'trending', max_per_creator => 1) AS r
  JOIN tidal.items AS i USING (item_id)
 ORDER BY r.rank;
SELECT tidal.last_query_stats()->'removed_diversity' AS passed_over_for_diversity;

\echo '== 9. Filtered by metadata: only items whose metadata @> {"lang": "en"} =='
SELECT r.rank, r.item_id, i.metadata->>'lang' AS lang, round(r.score::numeric, 4) AS score
  FROM tidal.retrieve(profile => 'popular', filter => '{"lang": "en"}') AS r
  JOIN tidal.items AS i USING (item_id)
 ORDER BY r.rank;
