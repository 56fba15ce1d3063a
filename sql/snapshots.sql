-- Snapshots of the hot state: taken on demand, listed, and what a rebuild
-- starts from. A rebuild from a snapshot and the log after it serves the
-- same scores as the live state, keyed writes still count once across it,
-- and only the owner may take one.
SET timezone = 'UTC';

SELECT tidal.define_signal('snap_view', '1 day', ARRAY['1 hour']::interval[]);
SELECT tidal.signal_batch('snap_view', ARRAY[1, 2, 2, 3], ARRAY[1, 2, 3, 4]::float8[],
       ARRAY['2026-03-01 10:00', '2026-03-01 10:30', '2026-03-01 11:00', '2026-03-01 11:15']::timestamptz[]) AS four_events;
SELECT tidal.signal('snap_view', 4, 1, '2026-03-01 11:20', idempotency_key => 'snap-k1') IS NOT NULL AS keyed;
SELECT tidal.seal() >= 0 AS sealed;

CREATE TEMP TABLE s1 AS SELECT tidal.snapshot() AS id;
SELECT s.entries >= 3 AS holds_the_entities, s.chunks >= 2 AS states_and_keys,
       s.covers LIKE '%0:0:%' AS covers_this_origin, s.age >= '0'::interval AS has_an_age
  FROM tidal.snapshots s JOIN s1 ON s.snapshot_id = s1.id;

-- (the keyed write of entity 4 is kept as written, not folded: it lies within
-- tidal.idempotency_window of the newest write)
-- after it: more events, and a retry of the keyed write (a duplicate)
SELECT tidal.signal('snap_view', 2, 5, '2026-03-01 11:30') IS NOT NULL AS ok;
SELECT tidal.signal('snap_view', 4, 1, '2026-03-01 11:20', idempotency_key => 'snap-k1') IS NOT NULL AS retried;
SELECT tidal.signal('snap_view', 5, 2, '2026-03-01 11:40', idempotency_key => 'snap-k2') IS NOT NULL AS keyed;

CREATE TEMP TABLE live AS
SELECT e, tidal.decay_score(e, 'snap_view', '2026-03-02') AS score,
       tidal.window_count(e, 'snap_view', '1 hour', '2026-03-01 11:45') AS n
  FROM generate_series(1, 5) e;
SELECT e, round(score::numeric, 9) AS score, n FROM live ORDER BY e;

-- rebuild: the snapshot, then the log after it; the same answers
SELECT tidal._reset_state();
SELECT bool_and(abs(tidal.decay_score(e, 'snap_view', '2026-03-02') - score) <= 1e-12 * abs(score)
                AND tidal.window_count(e, 'snap_view', '1 hour', '2026-03-01 11:45') = n) AS same_after_rebuild
  FROM live;
SELECT tidal.decay_score(4, 'snap_view', '2026-03-01 11:20') AS keyed_write_counted_once;

-- a second snapshot starts from the first; a retry of snap-k2 after it
CREATE TEMP TABLE s2 AS SELECT tidal.snapshot() AS id;
SELECT (SELECT id FROM s2) > (SELECT id FROM s1) AS newer;
SELECT tidal.signal('snap_view', 5, 2, '2026-03-01 11:40', idempotency_key => 'snap-k2') IS NOT NULL AS retried;
SELECT tidal._reset_state();
SELECT bool_and(abs(tidal.decay_score(e, 'snap_view', '2026-03-02') - score) <= 1e-12 * abs(score)) AS same_again
  FROM live;
SELECT tidal.decay_score(5, 'snap_view', '2026-03-01 11:40') AS second_key_counted_once;

-- tidal.snapshot_keep (2) snapshots are kept
SELECT tidal.snapshot() > 0 AS third;
SELECT count(*) AS kept FROM tidal.snapshots;

-- the log says what it holds and what keeps it
SELECT batches > 0 AS has_batches, bytes > 0 AS has_bytes, oldest_batch >= 1 AS oldest_known,
       compacted_batch = 0 AS never_compacted
  FROM tidal.log_status WHERE is_local;

-- only the owner takes snapshots or compacts, unless granted
CREATE ROLE snap_user;
SET ROLE snap_user;
SELECT tidal.snapshot();
SELECT tidal.compact();
SELECT count(*) >= 0 AS may_list_snapshots FROM tidal.snapshots;
RESET ROLE;
DROP ROLE snap_user;
