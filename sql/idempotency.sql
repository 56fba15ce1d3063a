-- Idempotent writes: a tidal.signal retried with the same key counts once.
SET timezone = 'UTC';

SELECT tidal.define_signal('i_view', '1 day');
SELECT tidal.signal('i_view', 1, 1, '2026-01-01', idempotency_key => 'req-1')
       = tidal.signal('i_view', 1, 1, '2026-01-01', idempotency_key => 'req-1') AS retry_returns_first_hlc;
SELECT tidal.decay_score(1, 'i_view', '2026-01-01') AS counted_once;
-- the retry is a no-op even if its arguments differ: the key names the write
SELECT tidal.signal('i_view', 1, 5, '2026-01-01', idempotency_key => 'req-1') IS NOT NULL AS ok;
SELECT tidal.decay_score(1, 'i_view', '2026-01-01') AS still_once;
-- another key is another write; no key is always a new write
SELECT tidal.signal('i_view', 1, 1, '2026-01-01', idempotency_key => 'req-2') IS NOT NULL AS ok;
SELECT tidal.signal('i_view', 1, 1, '2026-01-01') IS NOT NULL AS ok;
SELECT tidal.signal('i_view', 1, 1, '2026-01-01') IS NOT NULL AS ok;
SELECT tidal.decay_score(1, 'i_view', '2026-01-01') AS four;

-- a rolled-back write does not use up its key
BEGIN;
SELECT tidal.signal('i_view', 2, 1, '2026-01-01', idempotency_key => 'req-3') IS NOT NULL AS ok;
ROLLBACK;
SELECT tidal.signal('i_view', 2, 1, '2026-01-01', idempotency_key => 'req-3') IS NOT NULL AS ok;
SELECT tidal.decay_score(2, 'i_view', '2026-01-01') AS once_after_rollback;

-- in one transaction, too
BEGIN;
SELECT tidal.signal('i_view', 3, 1, '2026-01-01', idempotency_key => 'req-4') IS NOT NULL AS ok;
SELECT tidal.signal('i_view', 3, 1, '2026-01-01', idempotency_key => 'req-4') IS NOT NULL AS ok;
SELECT tidal.decay_score(3, 'i_view', '2026-01-01') AS once_in_xact;
COMMIT;

-- retries write nothing to the log: 6 events there, not 9 (the key travels in
-- the records that are there, for other regions to apply the same rule)
SELECT count(*) AS events_in_log
  FROM tidal.export_feedback('2026-01-01', '2026-01-02', signals => '{i_view}') x
 WHERE (x->>'entity')::int IN (1, 2, 3);

-- bad keys
SELECT tidal.signal('i_view', 4, idempotency_key => '');
SELECT tidal.signal('i_view', 4, idempotency_key => repeat('k', 201));
SELECT tidal.decay_score(4, 'i_view') AS nothing_written;
