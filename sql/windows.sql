-- Windowed sums: tidal.window_count and tidal.velocity.
-- A window of length W is kept as 10 buckets, each W/10 wide and aligned to
-- the Unix epoch; window_count(at) sums the 10 buckets ending with the one
-- that holds 'at'.  So it covers between 0.9·W and W before 'at'.
SET timezone = 'UTC';

SELECT tidal.define_signal('w_view', '7 days', ARRAY['1 hour', '24 hours']::interval[]);
SELECT tidal.define_signal('w_plain', '1 day');

-- 1 hour window: 6-minute buckets.  Events at 10:00, 10:30, 10:59, 11:05
SELECT tidal.signal_batch('w_view', ARRAY[1, 1, 1, 1]::bigint[], ARRAY[1, 2, 4, 8]::float8[],
       ARRAY['2026-05-01 10:00', '2026-05-01 10:30', '2026-05-01 10:59', '2026-05-01 11:05']::timestamptz[]);
SELECT at,
       tidal.window_count(1, 'w_view', '1 hour', at) AS last_hour,
       tidal.window_count(1, 'w_view', '24 hours', at) AS last_day,
       tidal.velocity(1, 'w_view', '24 hours', at) AS per_hour_over_day
  FROM unnest(ARRAY['2026-05-01 11:05', '2026-05-01 11:06',
                    '2026-05-01 11:35', '2026-05-01 11:59:59', '2026-05-01 12:00',
                    '2026-05-02 09:00', '2026-05-02 12:00']::timestamptz[]) at;

-- an 'at' before the entity's latest event (11:05) sees only the buckets the
-- ring still holds, the 10 ending with the latest event's: the 10:00 event
-- has left the 1 hour ring, so at 10:59 the hour holds 10:30 and 10:59 only
SELECT tidal.window_count(1, 'w_view', '1 hour', '2026-05-01 10:59') AS before_latest;

-- a late event inside the window counts; one older than the window does not
SELECT tidal.signal('w_view', 1, 16, '2026-05-01 10:40') IS NOT NULL AS written;
SELECT tidal.signal('w_view', 1, 32, '2026-04-30 10:00') IS NOT NULL AS written;
SELECT tidal.window_count(1, 'w_view', '1 hour', '2026-05-01 11:05') AS last_hour,
       tidal.window_count(1, 'w_view', '24 hours', '2026-05-01 11:05') AS last_day;
-- the decayed score still has every event
SELECT round(tidal.decay_score(1, 'w_view', '2026-05-01 11:05')::numeric, 6) AS score;

-- '60 minutes' names the same window as '1 hour'
SELECT tidal.window_count(1, 'w_view', '60 minutes', '2026-05-01 11:05') AS same_window;

-- an entity without events
SELECT tidal.window_count(2, 'w_view', '1 hour', '2026-05-01 11:05') AS none;

-- errors: a window the signal does not have, a signal without windows
SELECT tidal.window_count(1, 'w_view', '2 hours', '2026-05-01 11:05');
SELECT tidal.window_count(1, 'w_plain', '1 hour', '2026-05-01 11:05');
SELECT tidal.velocity(1, 'w_view', '1 month');
SELECT tidal.window_count(1, 'nope', '1 hour');
