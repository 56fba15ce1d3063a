-- ---------------------------------------------------------------------------
-- Regions (since 0.2): peers, shipping tidal's log, replication status.
-- ---------------------------------------------------------------------------

CREATE TABLE tidal.peer_defs (
    region_id int PRIMARY KEY CHECK (region_id BETWEEN 0 AND 65535),
    conninfo  text NOT NULL,
    added_at  timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON tidal.peer_defs FROM PUBLIC;

-- Peers are configuration: only the extension's owner (or whom it grants) may change them.
CREATE FUNCTION tidal.add_peer(region_id int, conninfo text)
    RETURNS void
    AS 'MODULE_PATHNAME', 'tidal_add_peer'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.add_peer(int, text) IS
    'ship tidal''s log to and from another region, reached with this libpq connection string';
CREATE FUNCTION tidal.drop_peer(region_id int)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'tidal_drop_peer'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.drop_peer(int) IS 'stop exchanging tidal''s log with a region';
REVOKE ALL ON FUNCTION tidal.add_peer(int, text), tidal.drop_peer(int) FROM PUBLIC;

CREATE VIEW tidal.peers AS
    SELECT region_id, conninfo, added_at FROM tidal.peer_defs;
COMMENT ON VIEW tidal.peers IS 'peer regions and how to reach them';

-- Called by a peer's receiver over libpq: the batches it lacks, then this
-- node's marks.  Grant EXECUTE to the role peers connect as.
CREATE FUNCTION tidal._ship(requester int, requester_shard int, regions int[], shards int[],
                            batches bigint[], seqs bigint[], max_batches int)
    RETURNS TABLE (origin_region int, origin_shard int, batch_no bigint, last_seq bigint, batch bytea)
    AS 'MODULE_PATHNAME', 'tidal_ship'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION tidal._ship(int, int, int[], int[], bigint[], bigint[], int) FROM PUBLIC;

CREATE FUNCTION tidal._peer_status()
    RETURNS TABLE (region_id int, state text, batches_sent bigint, acked_batch bigint,
                   acked_seq bigint, batches_pulled bigint, behind_seq bigint,
                   last_contact timestamptz, last_pull timestamptz)
    AS 'MODULE_PATHNAME', 'tidal_peer_status'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION tidal.local_seqno()
    RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog
    AS $$
        SELECT coalesce(max(last_seq), 0) FROM tidal.origins
         WHERE region = current_setting('tidal.region_id')::int
           AND shard = current_setting('tidal.shard_id')::int
    $$;
COMMENT ON FUNCTION tidal.local_seqno() IS
    'sequence number of the last event this node''s origin has sealed into its log';

CREATE FUNCTION tidal.applied_seqno(origin_region int)
    RETURNS bigint
    LANGUAGE sql STABLE STRICT PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog
    AS $$ SELECT coalesce(max(last_seq), 0) FROM tidal.origins WHERE region = origin_region $$;
COMMENT ON FUNCTION tidal.applied_seqno(int) IS
    'sequence number of the last event of that region this node has applied (its own: sealed)';

CREATE VIEW tidal.replication_status AS
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
           END AS health
      FROM peer;
COMMENT ON VIEW tidal.replication_status IS
    'one row per peer region: connection, batches shipped each way, lag and health';
GRANT SELECT ON tidal.replication_status TO PUBLIC;

CREATE FUNCTION tidal.await_convergence(timeout interval DEFAULT '5s')
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    AS $$
    DECLARE
        deadline timestamptz := clock_timestamp() + timeout;
    BEGIN
        PERFORM tidal.seal();
        LOOP
            -- reachable: heard from within tidal.peer_timeout
            IF NOT EXISTS (SELECT 1 FROM tidal.replication_status
                            WHERE lag_seqno > 0
                              AND clock_timestamp() - last_contact
                                  <= current_setting('tidal.peer_timeout')::interval) THEN
                RETURN true;
            END IF;
            IF clock_timestamp() >= deadline THEN
                RETURN false;
            END IF;
            PERFORM pg_sleep(0.01);
        END LOOP;
    END $$;
COMMENT ON FUNCTION tidal.await_convergence(interval) IS
    'wait until every reachable peer has everything this node has, and this node everything they have';

CREATE FUNCTION tidal._wake_receivers()
    RETURNS int
    AS 'MODULE_PATHNAME', 'tidal_wake_receivers'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION tidal._wake_receivers() FROM PUBLIC;  -- tidal.reconcile() calls it

CREATE FUNCTION tidal.reconcile()
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog
    AS $$
    DECLARE
        before jsonb;
        after jsonb;
        converged boolean;
    BEGIN
        SELECT coalesce(jsonb_object_agg(region, seq), '{}') INTO before
          FROM (SELECT region, max(last_seq) AS seq FROM tidal.origins GROUP BY region) o;
        PERFORM tidal._wake_receivers();
        converged := tidal.await_convergence(2 * current_setting('tidal.peer_timeout')::interval);
        SELECT coalesce(jsonb_object_agg(region, seq), '{}') INTO after
          FROM (SELECT region, max(last_seq) AS seq FROM tidal.origins GROUP BY region) o;
        RETURN jsonb_build_object(
            'converged', converged,
            'received', (SELECT coalesce(jsonb_object_agg(k, (after->>k)::bigint
                                                           - coalesce((before->>k)::bigint, 0)), '{}')
                           FROM jsonb_object_keys(after) k
                          WHERE k::int <> current_setting('tidal.region_id')::int),
            'applied_seqno', after,
            'peers', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                 'region', region, 'state', state, 'health', health,
                                 'lag_seqno', lag_seqno) ORDER BY region), '[]')
                        FROM tidal.replication_status));
    END $$;
COMMENT ON FUNCTION tidal.reconcile() IS
    'exchange logs with every reachable peer now; says what was received and whether all converged';

-- Where entities live (one row; none: every entity in shard 0).
CREATE TABLE tidal.shard_map (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    mode        text NOT NULL CHECK (mode IN ('single', 'hash', 'ranges')),
    shard_count int NOT NULL,
    ranges      int8range[]
);
REVOKE ALL ON tidal.shard_map FROM PUBLIC;

CREATE FUNCTION tidal.set_shard_map(mode text, shard_count int DEFAULT NULL,
                                    ranges int8range[] DEFAULT NULL)
    RETURNS int
    AS 'MODULE_PATHNAME', 'tidal_set_shard_map'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.set_shard_map(text, int, int8range[]) IS
    'route entities to shards: ''single'', ''hash'' with shard_count, or ''ranges'' covering every bigint';
REVOKE ALL ON FUNCTION tidal.set_shard_map(text, int, int8range[]) FROM PUBLIC;

CREATE FUNCTION tidal.shard_for(entity bigint)
    RETURNS int
    AS 'MODULE_PATHNAME', 'tidal_shard_for'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION tidal.shard_for(bigint) IS 'the shard an entity belongs to, by the shard map';

CREATE VIEW tidal.shards AS
    SELECT coalesce((SELECT mode FROM tidal.shard_map), 'single') AS mode,
           coalesce((SELECT shard_count FROM tidal.shard_map), 1) AS shard_count,
           (SELECT ranges FROM tidal.shard_map) AS ranges;
COMMENT ON VIEW tidal.shards IS 'the shard map';
GRANT SELECT ON tidal.shards TO PUBLIC;
