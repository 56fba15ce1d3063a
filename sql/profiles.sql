-- Ranking profiles: built-ins, definitions, and every kind of bad spec.
SET timezone = 'UTC';

SELECT tidal.define_signal('p_view', '7 days', ARRAY['1 hour', '24 hours']::interval[]);
SELECT tidal.define_signal('p_like', '1 day');

-- the built-ins, over every signal ("*")
SELECT name, builtin, defined_at IS NULL AS no_time, spec FROM tidal.profiles
 WHERE builtin ORDER BY name;

-- definitions
SELECT tidal.hlc_node(tidal.define_profile('p_engaged',
    '{"terms": [{"signal": "p_view", "measure": "decay_score", "weight": 1},
                {"signal": "p_like", "weight": 5, "transform": "log1p"},
                {"signal": "p_view", "measure": "window_count", "window": "1 hour", "weight": 0.5},
                {"signal": "p_view", "measure": "velocity", "window": "24 hours", "weight": 2}]}')) AS node;
SELECT tidal.define_profile('p_new', '{"freshness": {"half_life": "6 hours", "weight": 3}}') IS NOT NULL AS ok;
SELECT tidal.define_profile('p_default_window', '{"terms": [{"signal": "p_view", "measure": "velocity"}]}') IS NOT NULL AS ok;
SELECT name, builtin, defined_at IS NOT NULL AS has_time FROM tidal.profiles
 WHERE name LIKE 'p\_%' ORDER BY name;

-- redefinition replaces (last writer wins)
SELECT tidal.define_profile('p_new', '{"freshness": {"half_life": "1 day"}}') IS NOT NULL AS ok;
SELECT spec FROM tidal.profiles WHERE name = 'p_new';

-- scores follow the spec: one item, known events, a fixed time
SELECT tidal.signal('p_view', 4001, 1, '2026-01-01 11:30:00+00') IS NOT NULL AS ok;
SELECT tidal.signal('p_view', 4001, 1, '2026-01-01 00:00:00+00') IS NOT NULL AS ok;
SELECT tidal.signal('p_like', 4001, 2, '2026-01-01 00:00:00+00') IS NOT NULL AS ok;
SELECT tidal.upsert_item(4001, 1, '{}', '2026-01-01 06:00:00+00') IS NOT NULL AS ok;
-- p_engaged at noon: 1·(2^(−0.5/168) + 2^(−12/168)) + 5·log1p(2·2^(−12/24))
--                   + 0.5·1 (one view in the last hour) + 2·(2 views / 24 h)
SELECT round(score::numeric, 9) AS tidal,
       round((power(2, -0.5 / 168) + power(2, -12.0 / 168) + 5 * ln(1 + 2 * power(2, -12.0 / 24))
              + 0.5 + 2 * 2 / 24.0)::numeric, 9) AS formula
  FROM tidal.retrieve(candidates => '{4001}', profile => 'p_engaged', at => '2026-01-01 12:00:00+00');
-- p_new: freshness only, created 6 hours before with a 1-day half-life
SELECT round(score::numeric, 12) AS tidal, round(power(2, -6.0 / 24)::numeric, 12) AS formula
  FROM tidal.retrieve(candidates => '{4001}', profile => 'p_new', at => '2026-01-01 12:00:00+00');
-- default window: the signal's shortest (1 hour): one view in it, per hour
SELECT score FROM tidal.retrieve(candidates => '{4001}', profile => 'p_default_window',
                                 at => '2026-01-01 12:00:00+00');
-- log1p keeps the sign of negative values
SELECT tidal.define_profile('p_signed', '{"terms": [{"signal": "p_like", "transform": "log1p"}]}') IS NOT NULL AS ok;
SELECT tidal.signal('p_like', 4002, -3, '2026-01-01 12:00:00+00') IS NOT NULL AS ok;
SELECT round(score::numeric, 12) AS tidal, round((-ln(4))::numeric, 12) AS formula
  FROM tidal.retrieve(candidates => '{4002}', profile => 'p_signed', at => '2026-01-01 12:00:00+00');

-- bad specs
SELECT tidal.define_profile('bad', '[]');
SELECT tidal.define_profile('bad', '{}');
SELECT tidal.define_profile('bad', '{"terms": []}');
SELECT tidal.define_profile('bad', '{"terms": {}}');
SELECT tidal.define_profile('bad', '{"terms": [1]}');
SELECT tidal.define_profile('bad', '{"terms": [{}]}');
SELECT tidal.define_profile('bad', '{"terms": [{"signal": 5}]}');
SELECT tidal.define_profile('bad', '{"terms": [{"signal": "nope"}]}');
SELECT tidal.define_profile('bad', '{"terms": [{"signal": "p_view", "measure": "sum"}]}');
SELECT tidal.define_profile('bad', '{"terms": [{"signal": "p_view", "weight": "1"}]}');
SELECT tidal.define_profile('bad', '{"terms": [{"signal": "p_view", "weight": null}]}');
SELECT tidal.define_profile('bad', '{"terms": [{"signal": "p_view", "weight": 1e400}]}');
SELECT tidal.define_profile('bad', '{"terms": [{"signal": "p_view", "transform": "sqrt"}]}');
SELECT tidal.define_profile('bad', '{"terms": [{"signal": "p_view", "window": "1 hour"}]}');
SELECT tidal.define_profile('bad', '{"terms": [{"signal": "p_view", "measure": "velocity", "window": "2 hours"}]}');
SELECT tidal.define_profile('bad', '{"terms": [{"signal": "p_view", "measure": "velocity", "window": "soon"}]}');
SELECT tidal.define_profile('bad', '{"terms": [{"signal": "p_like", "measure": "window_count"}]}');
SELECT tidal.define_profile('bad', '{"terms": [{"signal": "p_view", "extra": 1}]}');
SELECT tidal.define_profile('bad', '{"freshness": {"weight": 1}}');
SELECT tidal.define_profile('bad', '{"freshness": {"half_life": "-1 day"}}');
SELECT tidal.define_profile('bad', '{"freshness": {"half_life": "1 month"}}');
SELECT tidal.define_profile('bad', '{"freshness": 1}');
SELECT tidal.define_profile('bad', '{"fresh": {}}');
SELECT tidal.define_profile('bad', (SELECT jsonb_build_object('terms', jsonb_agg(jsonb_build_object('signal', 'p_view')))
                                      FROM generate_series(1, 33)));
SELECT tidal.define_profile('Bad Name', '{"terms": [{"signal": "p_view"}]}');
SELECT tidal.define_profile(NULL, '{"terms": [{"signal": "p_view"}]}');
SELECT tidal.define_profile('bad', NULL);
SELECT count(*) AS bad_profiles FROM tidal.profiles WHERE name = 'bad';

-- a rolled-back definition is gone
BEGIN;
SELECT tidal.define_profile('p_tmp', '{"terms": [{"signal": "p_view"}]}') IS NOT NULL AS ok;
ROLLBACK;
SELECT count(*) AS p_tmp FROM tidal.profiles WHERE name = 'p_tmp';
