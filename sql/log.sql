-- tidal's own log: committed events are sealed into numbered batches,
-- gapless per origin; aborted transactions never reach it; batches carry a
-- checksum that replay verifies.
SET timezone = 'UTC';

-- seal whatever earlier tests left, and number from here
SELECT tidal.define_signal('l_view', '1 day');
SELECT tidal.seal() > 0 AS sealed_earlier_records;
CREATE TEMP TABLE base AS SELECT last_seq, last_batch FROM tidal.log_status WHERE is_local;

-- three transactions commit, one aborts, one rolls back to a savepoint
SELECT tidal.signal('l_view', 1, 1, '2026-01-01') IS NOT NULL AS written;
SELECT tidal.signal_batch('l_view', ARRAY[1, 2, 3]::bigint[], NULL,
                          ARRAY['2026-01-01', '2026-01-01', '2026-01-01']::timestamptz[]);
BEGIN;
SELECT tidal.signal_batch('l_view', ARRAY[4, 5]::bigint[], NULL,
                          ARRAY['2026-01-01', '2026-01-01']::timestamptz[]);
ROLLBACK;
BEGIN;
SELECT tidal.signal('l_view', 6, 1, '2026-01-01') IS NOT NULL AS written;
SAVEPOINT s;
SELECT tidal.signal('l_view', 7, 1, '2026-01-01') IS NOT NULL AS written;
ROLLBACK TO SAVEPOINT s;
COMMIT;

SELECT tidal.seal() AS events_sealed;
SELECT tidal.seal() AS nothing_left;
SELECT count(*) AS pending_records FROM tidal.pending;

-- batches are numbered 1, 2, ... and their sequence numbers follow each other;
-- an origin is this node (region:shard:node:first_seq; node 0 leaves its id out)
SELECT b.origin_node = current_setting('tidal.node_id')::int AS this_node,
       b.segment_id = CASE WHEN b.origin_node = 0 THEN format('0:0:%s', b.first_seq)
                           ELSE format('0:0:%s:%s', b.origin_node, b.first_seq) END AS segment_id_ok,
       b.batch_no - base.last_batch AS new_batch, b.first_seq - base.last_seq AS first,
       b.last_seq - base.last_seq AS last, b.event_count
  FROM tidal.log_batches b, base WHERE b.batch_no > base.last_batch ORDER BY b.batch_no;
SELECT min(batch_no) AS first_batch,
       bool_and(first_seq = prev_last + 1) AS gapless
  FROM (SELECT batch_no, first_seq, lag(last_seq, 1, 0::bigint) OVER (ORDER BY batch_no) AS prev_last
          FROM tidal.log_batches) b;
SELECT s.origin_region, s.origin_shard, s.origin_node = current_setting('tidal.node_id')::int AS this_node,
       s.last_seq - base.last_seq AS new_events,
       s.last_batch - base.last_batch AS new_batches, s.is_local
  FROM tidal.log_status s, base;

-- the batch header, as documented in docs/log-format.md
SELECT encode(substr(batch, 1, 4), 'escape') AS magic,
       get_byte(batch, 4) + 256 * get_byte(batch, 5) AS format_version,
       get_byte(batch, 6) + 256 * get_byte(batch, 7) AS header_len
  FROM tidal.batches ORDER BY batch_no LIMIT 1;

-- the hot state rebuilt from the log equals the state built by commits
CREATE TEMP TABLE before AS
  SELECT e, tidal.decay_score(e, 'l_view', '2026-01-02') AS score FROM generate_series(1, 7) e;
SELECT tidal._reset_state();
SELECT (tidal.state_stats()).loaded AS loaded_after_reset;
SELECT e, b.score, tidal.decay_score(e, 'l_view', '2026-01-02') = b.score AS same_after_rebuild
  FROM before b ORDER BY e;
SELECT (tidal.state_stats()).loaded AS loaded_after_read;

-- a corrupted batch is detected when the log is replayed
UPDATE tidal.batches SET batch = set_byte(batch, 100, get_byte(batch, 100) # 1) WHERE batch_no = (SELECT max(batch_no) FROM tidal.batches);
SELECT tidal._reset_state();
SELECT tidal.decay_score(1, 'l_view', '2026-01-02');
UPDATE tidal.batches SET batch = set_byte(batch, 100, get_byte(batch, 100) # 1) WHERE batch_no = (SELECT max(batch_no) FROM tidal.batches);
SELECT tidal.decay_score(1, 'l_view', '2026-01-02') AS repaired;
