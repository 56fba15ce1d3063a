-- Arithmetic that cannot wrap: event times, read times, weights and scores
-- are range-checked; a finite input never gives an infinite or NaN score,
-- but SQLSTATE 22008 (times) or 22003 (numbers) with the supported range.
SET timezone = 'UTC';
\set VERBOSITY default

SELECT tidal.define_signal('o_view', '1 hour', '{1 hour}');
-- a tenant of its own, so that no other test's ranking sees these items
SELECT tidal.register_tenant(900, 'overflow') IS NOT NULL AS registered;

-- far-future and far-past event times: refused, nothing written
SELECT tidal.signal('o_view', 1, 77, '294270-01-01', tenant => 900);
SELECT tidal.signal('o_view', 1, 1, '2262-01-01 00:00:00.000001+00', tenant => 900);
SELECT tidal.signal('o_view', 1, 1, '1677-12-31 23:59:59.999999+00', tenant => 900);
SELECT tidal.signal('o_view', 1, 1, '4713-11-24 BC', tenant => 900);
SELECT tidal.signal('o_view', 1, 1, 'infinity', tenant => 900);
SELECT tidal.signal('o_view', 1, 1, '-infinity', tenant => 900);
SELECT tidal.signal_batch('o_view', '{1,2}', NULL, '{2020-01-01,294270-01-01}', tenant => 900);
SELECT tidal.signal_batch('o_view', '{1,2}', NULL, '{2020-01-01,-infinity}', tenant => 900);
SELECT tidal.decay_score(1, 'o_view', '2020-01-01', tenant => 900) AS nothing_written;

-- the bounds themselves are accepted
SELECT tidal.signal('o_view', 2, 1, '1678-01-01 00:00:00+00', tenant => 900) IS NOT NULL AS earliest_ok;
SELECT tidal.signal('o_view', 3, 1, '2262-01-01 00:00:00+00', tenant => 900) IS NOT NULL AS latest_ok;
SELECT tidal.decay_score(3, 'o_view', '2262-01-01 00:00:00+00', tenant => 900) AS at_latest;
SELECT tidal.window_count(3, 'o_view', '1 hour', '2262-01-01 00:00:00+00', tenant => 900) AS window_at_latest;

-- weights: finite and within ±1e15
SELECT tidal.signal('o_view', 4, 'NaN', tenant => 900);
SELECT tidal.signal('o_view', 4, 'Infinity', tenant => 900);
SELECT tidal.signal('o_view', 4, '-Infinity', tenant => 900);
SELECT tidal.signal('o_view', 4, 1e300, tenant => 900);
SELECT tidal.signal('o_view', 4, -1.000001e15, tenant => 900);
SELECT tidal.signal_batch('o_view', '{4,5}', '{1,1e308}', tenant => 900);
SELECT tidal.signal_batch('o_view', '{4,5}', '{1,NaN}', tenant => 900);
SELECT tidal.signal('o_view', 4, 1e15, '2020-01-01', tenant => 900) IS NOT NULL AS max_weight_ok;
SELECT tidal.signal('o_view', 4, -1e15, '2020-01-01', tenant => 900) IS NOT NULL AS min_weight_ok;
SELECT tidal.decay_score(4, 'o_view', '2020-01-01', tenant => 900) AS cancelled;

-- reads at extreme times: out-of-range times refused; a read far before the
-- newest event, whose score cannot be represented, is refused too
SELECT tidal.signal('o_view', 6, 1, '2020-01-01', tenant => 900) IS NOT NULL AS ok;
SELECT tidal.decay_score(6, 'o_view', '294270-01-01', tenant => 900);
SELECT tidal.decay_score(6, 'o_view', 'infinity', tenant => 900);
SELECT tidal.decay_score(6, 'o_view', '-infinity', tenant => 900);
SELECT tidal.decay_score(6, 'o_view', '1000-01-01', tenant => 900);
SELECT tidal.decay_score(6, 'o_view', '1700-01-01', tenant => 900);
SELECT tidal.decay_score(6, 'o_view', '2261-12-31', tenant => 900) AS decayed_to_zero;
SELECT tidal.window_count(6, 'o_view', '1 hour', '294270-01-01', tenant => 900);
SELECT tidal.velocity(6, 'o_view', '1 hour', '-infinity');
SELECT tidal.window_count(6, 'o_view', '1 hour', '1678-01-01', tenant => 900) AS window_far_past;
SELECT tidal.decay_score(6, 'o_view', '2019-12-01', tenant => 900) < 'Infinity'::float8 AS finite_before_latest;

-- ranking at extreme times
SELECT tidal.upsert_item(6, tenant => 900) IS NOT NULL AS ok;
SELECT count(*) FROM tidal.retrieve(profile => 'popular', at => '294270-01-01', tenant => 900);
SELECT count(*) FROM tidal.retrieve(profile => 'popular', at => '1700-01-01', tenant => 900);
SELECT item_id FROM tidal.retrieve(profile => 'popular', at => '2020-01-02', tenant => 900) WHERE item_id = 6;

-- items: created_at in the supported range
SELECT tidal.upsert_item(7, created_at => '294270-01-01', tenant => 900);

-- export (tenant 0 only): windows beyond the supported range only filter,
-- they never wrap
SELECT tidal.define_signal('o_export', '1 hour');
SELECT tidal.signal_batch('o_export', '{987654321,987654321,987654321}', NULL,
                          '{1678-01-01,2020-01-01,2262-01-01}') AS written;
SELECT count(*) AS far_window FROM tidal.export_feedback('-infinity', '294270-01-01', signals => '{o_export}');
SELECT count(*) AS far_window FROM tidal.export_feedback('4713-01-01 BC', 'infinity', signals => '{o_export}');
SELECT count(*) AS empty_window FROM tidal.export_feedback('294270-01-01', 'infinity', signals => '{o_export}');
SELECT count(*) AS before_range FROM tidal.export_feedback('-infinity', '1000-01-01', signals => '{o_export}');

-- half-lives and windows keep their existing bounds
SELECT tidal.define_signal('o_bad', '1000000 days');
SELECT tidal.define_signal('o_bad', '1 hour', '{1000000 days}');
SELECT tidal.define_signal('o_bad', '-1 hour');
