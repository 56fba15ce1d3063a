-- Decayed scores are exact to the analytical formula
--   score(at) = Σ wᵢ · 2^(−(at − tᵢ)/half_life)
-- whatever order the events arrive in.
SET timezone = 'UTC';
SELECT setseed(0.42);

SELECT tidal.define_signal('d_view', '7 days', ARRAY['1 hour', '24 hours']::interval[]);
SELECT tidal.define_signal('d_fast', '10 minutes');

-- the truth: 10,000 events for entity 1 and 200 for each of entities 2..6,
-- spread over 30 days, with weights in [-1, 4); arriving in random order
CREATE TEMP TABLE truth AS
SELECT CASE WHEN g <= 10000 THEN 1 ELSE 2 + (g % 5) END::bigint AS entity,
       round((random() * 5 - 1)::numeric, 3)::float8 AS weight,
       timestamptz '2026-01-01' + random() * interval '30 days' AS at,
       random() AS arrival
  FROM generate_series(1, 11000) g;

-- one event per call for entity 1, in arrival order (late events included) ...
SELECT count(tidal.signal('d_view', entity, weight, at))
  FROM (SELECT * FROM truth WHERE entity = 1 ORDER BY arrival) t;
SELECT count(tidal.signal('d_fast', entity, weight, at))
  FROM (SELECT * FROM truth WHERE entity = 1 ORDER BY arrival) t;
-- ... and batches for the others, also in arrival order
SELECT tidal.signal_batch('d_view', array_agg(entity ORDER BY arrival),
                          array_agg(weight ORDER BY arrival), array_agg(at ORDER BY arrival))
  FROM truth WHERE entity > 1;

CREATE FUNCTION expected(e bigint, half_life_s float8, at timestamptz) RETURNS float8
LANGUAGE sql AS $$
  SELECT sum(t.weight * power(2::float8, greatest(-1000, -extract(epoch FROM $3 - t.at)::float8 / $2)))
    FROM truth t WHERE t.entity = $1
$$;
CREATE FUNCTION rel_err(got float8, want float8) RETURNS float8
LANGUAGE sql AS $$ SELECT abs(got - want) / greatest(abs(want), 1e-300) $$;

-- at and after the latest event, for both half-lives
SELECT e, at_offset,
       rel_err(tidal.decay_score(e, 'd_view', at), expected(e, 7 * 86400, at)) < 1e-9 AS exact
  FROM generate_series(1, 6) e,
       LATERAL (VALUES (interval '0'), (interval '1 hour'), (interval '3 days')) o(at_offset),
       LATERAL (SELECT max(t.at) + o.at_offset AS at FROM truth t WHERE t.entity = e) m
 ORDER BY e, at_offset;
SELECT rel_err(tidal.decay_score(1, 'd_fast', at), expected(1, 600, at)) < 1e-9 AS exact_fast
  FROM (SELECT max(at) + interval '5 minutes' AS at FROM truth WHERE entity = 1) m;

-- an 'at' before the latest event follows the same formula: events after
-- 'at' weigh more than their weight (2^((tᵢ − at)/half_life))
SELECT rel_err(tidal.decay_score(1, 'd_view', '2026-01-15'),
               expected(1, 7 * 86400, '2026-01-15')) < 1e-9 AS exact_before_latest;

-- an entity without events scores 0
SELECT tidal.decay_score(999, 'd_view', '2026-02-01') AS no_events;

-- simple values one can check by hand: one half-life halves a weight
SELECT tidal.signal('d_view', 50, 8, '2026-03-01') IS NOT NULL AS written;
SELECT tidal.decay_score(50, 'd_view', '2026-03-01') AS at_event,
       tidal.decay_score(50, 'd_view', '2026-03-08') AS one_half_life,
       tidal.decay_score(50, 'd_view', '2026-03-15') AS two_half_lives;
-- a late event (a week before the latest) adds its own decayed weight
SELECT tidal.signal('d_view', 50, 8, '2026-02-22') IS NOT NULL AS written;
SELECT tidal.decay_score(50, 'd_view', '2026-03-08') AS with_late_event;
