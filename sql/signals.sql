-- Signal definitions and writes: the SQL surface, its errors, and the
-- transactional rules (a rolled-back signal never counts).
SET timezone = 'UTC';

-- definitions
SELECT tidal.define_signal('view', '7 days', ARRAY['1 hour', '24 hours']::interval[]);
SELECT tidal.define_signal('like', '1 day');
SELECT tidal.define_signal('follow', '30 days', '{}', 'creator');
SELECT name, half_life, windows, entity_kind FROM tidal.signals
 WHERE name IN ('view', 'like', 'follow') ORDER BY name;

-- bad definitions
SELECT tidal.define_signal('view', '1 day');
SELECT tidal.define_signal('zero', '0 seconds');
SELECT tidal.define_signal('negative', '-1 hour');
SELECT tidal.define_signal('monthly', '1 month');
SELECT tidal.define_signal('w1', '1 day', ARRAY['30 seconds']::interval[]);
SELECT tidal.define_signal('w2', '1 day', ARRAY['90 seconds']::interval[]);
SELECT tidal.define_signal('w3', '1 day', ARRAY['31 days']::interval[]);
SELECT tidal.define_signal('w4', '1 day', ARRAY['1 hour', '2 hours', '3 hours']::interval[]);
SELECT tidal.define_signal('w5', '1 day', ARRAY['1 hour', '60 minutes']::interval[]);
SELECT tidal.define_signal('w6', '1 day', ARRAY['1 hour', NULL]::interval[]);
SELECT tidal.define_signal('w7', '1 day', ARRAY[['1 hour'], ['2 hours']]::interval[]);
SELECT tidal.define_signal('Bad Name', '1 day');
SELECT tidal.define_signal('', '1 day');
SELECT tidal.define_signal(repeat('x', 64), '1 day');
SELECT tidal.define_signal('k', '1 day', '{}', 'Item');
SELECT tidal.define_signal(NULL, '1 day');
SELECT tidal.define_signal('n', NULL);
SELECT tidal.define_signal('n', '1 day', NULL);
SELECT count(*) AS defined_by_bad_calls FROM tidal.signals
 WHERE name IN ('zero', 'negative', 'monthly', 'w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'w7', 'k', 'n');

-- writes return the HLC they were stamped with
SELECT tidal.hlc_node(tidal.signal('view', 1, 1.0, '2026-01-01 00:00:00+00')) AS node;
SELECT tidal.signal('view', 1, 2.0, '2026-01-01 00:00:00+00')
     < tidal.signal('view', 1, 0.0, '2026-01-01 00:00:00+00') AS hlc_increases;
SELECT tidal.signal_batch('view', ARRAY[2, 3, 3]::bigint[], ARRAY[1, 2, 3]::float8[],
                          ARRAY['2026-01-01', '2026-01-01', '2026-01-01']::timestamptz[]) AS written;
SELECT tidal.signal_batch('view', '{}'::bigint[]) AS empty_batch;
SELECT e, tidal.decay_score(e, 'view', '2026-01-01 00:00:00+00') AS score
  FROM generate_series(1, 4) e;

-- bad writes
SELECT tidal.signal('nope', 1);
SELECT tidal.signal('view', NULL);
SELECT tidal.signal('view', 1, 'NaN');
SELECT tidal.signal('view', 1, 'Infinity');
SELECT tidal.signal('view', 1, '-Infinity');
SELECT tidal.signal('view', 1, NULL);
SELECT tidal.signal('view', 1, 1, 'infinity') IS NOT NULL AS written;
SELECT tidal.signal('view', 1, 1, NULL);
SELECT tidal.signal_batch('nope', ARRAY[1]::bigint[]);
SELECT tidal.signal_batch('view', NULL);
SELECT tidal.signal_batch('view', ARRAY[1, NULL]::bigint[]);
SELECT tidal.signal_batch('view', ARRAY[[1], [2]]::bigint[]);
SELECT tidal.signal_batch('view', ARRAY[1, 2]::bigint[], ARRAY[1]::float8[]);
SELECT tidal.signal_batch('view', ARRAY[1, 2]::bigint[], NULL, ARRAY['2026-01-01']::timestamptz[]);
SELECT tidal.signal_batch('view', ARRAY[1]::bigint[], ARRAY['NaN']::float8[]);
SELECT tidal.signal_batch('view', ARRAY[1]::bigint[], NULL, ARRAY['-infinity']::timestamptz[]);
SELECT tidal.signal_batch('view', array_agg(g)) FROM generate_series(1, 1000001) g;
-- nothing above was counted
SELECT e, tidal.decay_score(e, 'view', '2026-01-01 00:00:00+00') AS score
  FROM generate_series(1, 2) e;

-- reads: unknown signal is an error, NULL in gives NULL out
SELECT tidal.decay_score(1, 'nope');
SELECT tidal.decay_score(NULL, 'view') IS NULL AS null_entity;
SELECT tidal.decay_score(1, 'view', 'infinity');

-- transactions: own writes are visible inside, rolled-back ones never count
BEGIN;
SELECT tidal.signal('like', 10, 5, '2026-01-01') IS NOT NULL AS written;
SELECT tidal.decay_score(10, 'like', '2026-01-01') AS inside;
ROLLBACK;
SELECT tidal.decay_score(10, 'like', '2026-01-01') AS after_rollback;

BEGIN;
SELECT tidal.signal('like', 10, 1, '2026-01-01') IS NOT NULL AS written;
SAVEPOINT s1;
SELECT tidal.signal('like', 10, 100, '2026-01-01') IS NOT NULL AS written;
SAVEPOINT s2;
SELECT tidal.signal('like', 10, 1000, '2026-01-01') IS NOT NULL AS written;
RELEASE SAVEPOINT s2;
ROLLBACK TO SAVEPOINT s1;
SELECT tidal.signal('like', 10, 10, '2026-01-01') IS NOT NULL AS written;
SELECT tidal.decay_score(10, 'like', '2026-01-01') AS inside;
COMMIT;
SELECT tidal.decay_score(10, 'like', '2026-01-01') AS after_commit;

-- an error inside a function call aborts its writes too
DO $$
BEGIN
  PERFORM tidal.signal('like', 11, 1, '2026-01-01');
  PERFORM tidal.signal('like', 11, 'NaN', '2026-01-01');
EXCEPTION WHEN invalid_parameter_value THEN
  RAISE NOTICE 'caught: %', SQLERRM;
END $$;
SELECT tidal.decay_score(11, 'like', '2026-01-01') AS after_caught_error;

-- tidal writes cannot be prepared (two-phase commit)
BEGIN;
SELECT tidal.signal('like', 12, 1, '2026-01-01') IS NOT NULL AS written;
PREPARE TRANSACTION 'tidal_2pc';
SELECT tidal.decay_score(12, 'like', '2026-01-01') AS after_failed_prepare;

-- everyday calls need no superuser and no table privileges
CREATE ROLE tidal_app LOGIN;
SET ROLE tidal_app;
SELECT tidal.signal('like', 13, 2, '2026-01-01') IS NOT NULL AS written;
SELECT tidal.signal_batch('like', ARRAY[13, 13]::bigint[], NULL, ARRAY['2026-01-01', '2026-01-01']::timestamptz[]);
SELECT tidal.decay_score(13, 'like', '2026-01-01') AS score;
SELECT count(*) FROM tidal.pending;
RESET ROLE;
DROP ROLE tidal_app;

-- a signal's polarity (0.8): 1 a positive reaction, -1 a negative one, 0 neither (the default)
SELECT tidal.define_signal('p_save', '7 days', polarity => 1);
SELECT tidal.define_signal('p_skip', '1 day', polarity => -1);
SELECT name, polarity FROM tidal.signals WHERE name IN ('p_save', 'p_skip', 'like') ORDER BY name;
SELECT tidal.define_signal('p_bad', '1 day', polarity => 2);
SELECT tidal.define_signal('p_null', '1 day', polarity => NULL);
SELECT count(*) AS none_defined FROM tidal.signals WHERE name IN ('p_bad', 'p_null');
-- the definition record carries it (kind 2 with flag 0x01), and a rebuild of the cache reads it back
SELECT tidal._reset_state();
SELECT tidal.signal('p_skip', 1, 1, '2026-01-01') IS NOT NULL AS written;
SELECT name, polarity FROM tidal.signals WHERE name = 'p_skip';
