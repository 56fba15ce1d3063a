-- Arithmetic that cannot wrap: event times, read times, weights and scores
-- are range-checked; a finite input never gives an infinite or NaN score,
-- but SQLSTATE 22008 (times) or 22003 (numbers) with the supported range.
SET timezone = 'UTC';
\set VERBOSITY default

SELECT tidal.define_signal('o_view', '1 hour', '{1 hour}');
-- entities 9000001.. of tenant 0, none of them an item: no other test's
-- ranking sees them

-- far-future and far-past event times: refused, nothing written
SELECT tidal.signal('o_view', 9000001, 77, '294270-01-01');
SELECT tidal.signal('o_view', 9000001, 1, '2262-01-01 00:00:00.000001+00');
SELECT tidal.signal('o_view', 9000001, 1, '1677-12-31 23:59:59.999999+00');
SELECT tidal.signal('o_view', 9000001, 1, '4713-11-24 BC');
SELECT tidal.signal('o_view', 9000001, 1, 'infinity');
SELECT tidal.signal('o_view', 9000001, 1, '-infinity');
SELECT tidal.signal_batch('o_view', '{9000001,9000002}', NULL, '{2020-01-01,294270-01-01}');
SELECT tidal.signal_batch('o_view', '{9000001,9000002}', NULL, '{2020-01-01,-infinity}');
SELECT tidal.decay_score(9000001, 'o_view', '2020-01-01') AS nothing_written;

-- the bounds themselves are accepted
SELECT tidal.signal('o_view', 9000002, 1, '1678-01-01 00:00:00+00') IS NOT NULL AS earliest_ok;
SELECT tidal.signal('o_view', 9000003, 1, '2262-01-01 00:00:00+00') IS NOT NULL AS latest_ok;
SELECT tidal.decay_score(9000003, 'o_view', '2262-01-01 00:00:00+00') AS at_latest;
SELECT tidal.window_count(9000003, 'o_view', '1 hour', '2262-01-01 00:00:00+00') AS window_at_latest;

-- weights: finite and within ±1e15
SELECT tidal.signal('o_view', 9000004, 'NaN');
SELECT tidal.signal('o_view', 9000004, 'Infinity');
SELECT tidal.signal('o_view', 9000004, '-Infinity');
SELECT tidal.signal('o_view', 9000004, 1e300);
SELECT tidal.signal('o_view', 9000004, -1.000001e15);
SELECT tidal.signal_batch('o_view', '{9000004,9000005}', '{1,1e308}');
SELECT tidal.signal_batch('o_view', '{9000004,9000005}', '{1,NaN}');
SELECT tidal.signal('o_view', 9000004, 1e15, '2020-01-01') IS NOT NULL AS max_weight_ok;
SELECT tidal.signal('o_view', 9000004, -1e15, '2020-01-01') IS NOT NULL AS min_weight_ok;
SELECT tidal.decay_score(9000004, 'o_view', '2020-01-01') AS cancelled;

-- reads at extreme times: out-of-range times refused; a read far before the
-- newest event, whose score cannot be represented, is refused too
SELECT tidal.signal('o_view', 9000006, 1, '2020-01-01') IS NOT NULL AS ok;
SELECT tidal.decay_score(9000006, 'o_view', '294270-01-01');
SELECT tidal.decay_score(9000006, 'o_view', 'infinity');
SELECT tidal.decay_score(9000006, 'o_view', '-infinity');
SELECT tidal.decay_score(9000006, 'o_view', '1000-01-01');
SELECT tidal.decay_score(9000006, 'o_view', '1700-01-01');
SELECT tidal.decay_score(9000006, 'o_view', '2261-12-31') AS decayed_to_zero;
SELECT tidal.window_count(9000006, 'o_view', '1 hour', '294270-01-01');
SELECT tidal.velocity(9000006, 'o_view', '1 hour', '-infinity');
SELECT tidal.window_count(9000006, 'o_view', '1 hour', '1678-01-01') AS window_far_past;
SELECT tidal.decay_score(9000006, 'o_view', '2019-12-01') < 'Infinity'::float8 AS finite_before_latest;

-- ranking at extreme times
SELECT count(*) FROM tidal.retrieve(candidates => '{9000006}', profile => 'popular', at => '294270-01-01');
SELECT count(*) FROM tidal.retrieve(candidates => '{9000006}', profile => 'popular', at => '1700-01-01');
SELECT item_id FROM tidal.retrieve(candidates => '{9000006}', profile => 'popular', at => '2020-01-02') WHERE item_id = 9000006;

-- items: created_at in the supported range
SELECT tidal.upsert_item(9000007, created_at => '294270-01-01');

-- export (tenant 0 only): windows beyond the supported range only filter,
-- they never wrap
SELECT tidal.define_signal('o_export', '1 hour');
SELECT tidal.signal_batch('o_export', '{987654321,987654321,987654321}', NULL,
                          '{1678-01-01,2020-01-01,2262-01-01}') AS written;
SELECT count(*) FILTER (WHERE x->>'kind' = 'signal') AS far_window FROM tidal.export_feedback('-infinity', '294270-01-01', signals => '{o_export}') x;
SELECT count(*) FILTER (WHERE x->>'kind' = 'signal') AS far_window FROM tidal.export_feedback('4713-01-01 BC', 'infinity', signals => '{o_export}') x;
SELECT count(*) FILTER (WHERE x->>'kind' = 'signal') AS empty_window FROM tidal.export_feedback('294270-01-01', 'infinity', signals => '{o_export}') x;
SELECT count(*) FILTER (WHERE x->>'kind' = 'signal') AS before_range FROM tidal.export_feedback('-infinity', '1000-01-01', signals => '{o_export}') x;

-- half-lives and windows keep their existing bounds
SELECT tidal.define_signal('o_bad', '1000000 days');
SELECT tidal.define_signal('o_bad', '1 hour', '{1000000 days}');
SELECT tidal.define_signal('o_bad', '-1 hour');
