-- ---------------------------------------------------------------------------
-- 0.5: what a peer sent that this node refused (issue 11, finding 3).
-- A batch that fails validation, or whose HLC lies beyond
-- tidal.max_clock_offset, is held and pulled again later; a malformed answer
-- is dropped. tidal.replication_status shows it per peer, in three columns
-- appended to the view (CREATE OR REPLACE VIEW keeps the earlier ones).
-- ---------------------------------------------------------------------------
CREATE FUNCTION tidal._peer_errors()
    RETURNS TABLE (region_id int, quarantined boolean, last_error text, last_error_at timestamptz)
    AS 'MODULE_PATHNAME', 'tidal_peer_errors'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal._peer_errors() IS
    'per peer region: whether a batch of it is held, and why its last refused batch or answer was refused';
-- read by tidal.replication_status, which everyone may read (as tidal._peer_status)
GRANT EXECUTE ON FUNCTION tidal._peer_errors() TO PUBLIC;

CREATE OR REPLACE VIEW tidal.replication_status AS
    WITH local AS (SELECT tidal.local_seqno() AS seq),
    peer AS (
        SELECT d.region_id, s.state, s.batches_sent, s.acked_batch, s.acked_seq,
               s.last_contact,
               greatest((SELECT seq FROM local) - coalesce(s.acked_seq, 0), 0)
                 + coalesce(s.behind_seq, 0) AS lag_seqno,
               (SELECT min(b.sealed_at) FROM tidal.batches b
                 WHERE b.origin_region = current_setting('tidal.region_id')::int
                   AND b.origin_shard = current_setting('tidal.shard_id')::int
                   AND b.last_seq > coalesce(s.acked_seq, 0)) AS oldest_unacked
          FROM tidal.peer_defs d LEFT JOIN tidal._peer_status() s USING (region_id))
    SELECT region_id AS region,
           coalesce(state, 'disconnected') AS state,
           coalesce(batches_sent, 0) AS batches_sent,
           coalesce(acked_batch, 0) AS batches_acknowledged,
           (SELECT coalesce(sum(o.last_batch), 0)::bigint FROM tidal.origins o
             WHERE o.region = peer.region_id) AS batches_applied,
           lag_seqno,
           CASE WHEN lag_seqno = 0 OR oldest_unacked IS NULL THEN 0
                ELSE (extract(epoch FROM clock_timestamp() - oldest_unacked) * 1000)::bigint
           END AS lag_ms,
           last_contact,
           CASE WHEN last_contact IS NULL
                  OR clock_timestamp() - last_contact
                     > current_setting('tidal.offline_after')::interval THEN 'offline'
                WHEN clock_timestamp() - last_contact
                     > current_setting('tidal.peer_timeout')::interval
                  OR (lag_seqno > 0 AND clock_timestamp() - oldest_unacked
                      > current_setting('tidal.degraded_after')::interval) THEN 'degraded'
                ELSE 'healthy'
           END AS health,
           coalesce(e.quarantined, false) AS quarantined,
           e.last_error,
           e.last_error_at
      FROM peer LEFT JOIN tidal._peer_errors() e USING (region_id);
COMMENT ON VIEW tidal.replication_status IS
    'one row per peer region: connection, batches shipped each way, lag and health; quarantined: a batch of it is held (refused: invalid, or stamped beyond tidal.max_clock_offset), last_error says why';
