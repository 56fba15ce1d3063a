-- ---------------------------------------------------------------------------
-- 0.8: the nodes of a shard (docs/design/followers.md).
--
-- A shard may have several nodes in a region: the same tidal.region_id and
-- tidal.shard_id, each its own tidal.node_id. They are each other's peers,
-- *shard members*: tidal.add_peer(region, conninfo, shard, node) with this
-- node's region and shard, and the member's node. Members pull every origin
-- from each other, so each holds its shard's whole log and hot state.
-- ---------------------------------------------------------------------------

ALTER TABLE tidal.peer_defs ADD COLUMN node_id int CHECK (node_id BETWEEN 0 AND 65535);
ALTER TABLE tidal.peer_defs DROP CONSTRAINT peer_defs_pkey;
-- NULL: a node of another region or shard, whichever of its nodes the
-- connection string reaches; a member is keyed by its node.
CREATE UNIQUE INDEX peer_defs_key ON tidal.peer_defs (region_id, shard_id, (coalesce(node_id, -1)));

DROP FUNCTION tidal.add_peer(int, text, int);
CREATE FUNCTION tidal.add_peer(region_id int, conninfo text, shard_id int DEFAULT NULL, node_id int DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'tidal_add_peer'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.add_peer(int, text, int, int) IS
    'exchange tidal''s log with a node reached with this libpq connection string: shard_id (NULL: this node''s) of another region, another shard of this region, or node_id of this node''s own shard';
DROP FUNCTION tidal.drop_peer(int, int);
CREATE FUNCTION tidal.drop_peer(region_id int, shard_id int DEFAULT NULL, node_id int DEFAULT NULL)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'tidal_drop_peer'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.drop_peer(int, int, int) IS
    'stop exchanging tidal''s log with a node (shard_id NULL: this node''s shard; node_id: a member of it)';
REVOKE ALL ON FUNCTION tidal.add_peer(int, text, int, int), tidal.drop_peer(int, int, int) FROM PUBLIC;

CREATE OR REPLACE VIEW tidal.peers AS
    SELECT region_id, conninfo, added_at, shard_id, node_id FROM tidal.peer_defs;

-- What each peer said it has applied: a member is keyed by its node (-1:
-- a node of another region or shard).
ALTER TABLE tidal.peer_progress ADD COLUMN peer_node int NOT NULL DEFAULT -1;
ALTER TABLE tidal.peer_progress DROP CONSTRAINT peer_progress_pkey,
    ADD PRIMARY KEY (peer_region, peer_shard, peer_node, origin_region, origin_shard, origin_node);

-- What shared memory says of each peer, now with its node (NULL but for a
-- member). The views that read these functions are made again below.
DROP VIEW tidal.topology;
DROP VIEW tidal.cluster;
DROP VIEW tidal.replication_status;
DROP FUNCTION tidal._peer_status();
DROP FUNCTION tidal._peer_errors();
CREATE FUNCTION tidal._peer_status()
    RETURNS TABLE (region_id int, state text, batches_sent bigint, acked_batch bigint,
                   acked_seq bigint, batches_pulled bigint, behind_seq bigint,
                   last_contact timestamptz, last_pull timestamptz, shard_id int, node_id int)
    AS 'MODULE_PATHNAME', 'tidal_peer_status'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
CREATE FUNCTION tidal._peer_errors()
    RETURNS TABLE (region_id int, quarantined boolean, last_error text, last_error_at timestamptz,
                   shard_id int, node_id int)
    AS 'MODULE_PATHNAME', 'tidal_peer_errors'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal._peer_errors() IS
    'per peer: whether a batch of it is held, and why its last refused batch or answer was refused';
GRANT EXECUTE ON FUNCTION tidal._peer_errors() TO PUBLIC;

CREATE VIEW tidal.replication_status AS
    WITH local AS (SELECT tidal.local_seqno() AS seq),
    peer AS (
        SELECT d.region_id, d.shard_id, d.node_id, s.state, s.batches_sent, s.acked_batch, s.acked_seq,
               s.last_contact,
               greatest((SELECT seq FROM local) - coalesce(s.acked_seq, 0), 0)
                 + coalesce(s.behind_seq, 0) AS lag_seqno,
               (SELECT min(b.sealed_at) FROM tidal.batches b
                 WHERE b.origin_region = current_setting('tidal.region_id')::int
                   AND b.origin_shard = current_setting('tidal.shard_id')::int
                   AND b.last_seq > coalesce(s.acked_seq, 0)) AS oldest_unacked
          FROM tidal.peer_defs d
          LEFT JOIN tidal._peer_status() s
                 ON s.region_id = d.region_id AND s.shard_id = d.shard_id
                AND s.node_id IS NOT DISTINCT FROM d.node_id)
    SELECT peer.region_id AS region,
           coalesce(state, 'disconnected') AS state,
           coalesce(batches_sent, 0) AS batches_sent,
           coalesce(acked_batch, 0) AS batches_acknowledged,
           (SELECT coalesce(sum(o.last_batch), 0)::bigint FROM tidal.origins o
             WHERE o.region = peer.region_id AND o.shard = peer.shard_id
               AND (peer.node_id IS NULL OR o.node = peer.node_id)) AS batches_applied,
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
           e.last_error_at,
           peer.shard_id AS shard,
           peer.node_id AS node
      FROM peer
      LEFT JOIN tidal._peer_errors() e
             ON e.region_id = peer.region_id AND e.shard_id = peer.shard_id
            AND e.node_id IS NOT DISTINCT FROM peer.node_id;
COMMENT ON VIEW tidal.replication_status IS
    'one row per peer (region, shard, and node for a member of this node''s shard): connection, batches shipped each way, lag and health; quarantined: a batch of it is held (refused: invalid, or stamped beyond tidal.max_clock_offset), last_error says why';
GRANT SELECT ON tidal.replication_status TO PUBLIC;

-- The regions of the cluster: this node and its region peers (members of
-- its own shard are not regions; they are in tidal.topology).
CREATE VIEW tidal.cluster AS
    SELECT current_setting('tidal.node_id')::int AS node,
           current_setting('tidal.region_id')::int AS region,
           e.role, e.term, e.leader_region, 'healthy'::text AS health, true AS is_local
      FROM tidal._election_status() e
    UNION ALL
    SELECT NULL, r.region,
           CASE WHEN r.region = e.leader_region THEN 'leader' ELSE 'follower' END,
           e.term, e.leader_region, r.health, false
      FROM tidal.replication_status r, tidal._election_status() e
     WHERE r.shard = current_setting('tidal.shard_id')::int AND r.node IS NULL;
COMMENT ON VIEW tidal.cluster IS
    'the regions of the cluster: this node''s role and term, the leader, and each region''s health';
GRANT SELECT ON tidal.cluster TO PUBLIC;


-- The shard's election (src/cluster/election.c): this node's durable term
-- and vote in its own shard's group, and, as a witness (a node of another
-- shard of the region, for a shard of an even number of nodes), in that
-- shard's.
CREATE TABLE tidal.shard_raft_state (
    shard        int PRIMARY KEY CHECK (shard BETWEEN 0 AND 1023),
    current_term bigint NOT NULL DEFAULT 0,
    voted_for    int
);
REVOKE ALL ON tidal.shard_raft_state FROM PUBLIC;

-- Called by the election workers of the shard's nodes over libpq; grant
-- EXECUTE to the peer role.
CREATE FUNCTION tidal._shard_request_vote(shard int, term bigint, candidate int, progress bigint)
    RETURNS TABLE (term bigint, granted boolean)
    AS 'MODULE_PATHNAME', 'tidal_shard_request_vote'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
CREATE FUNCTION tidal._shard_request_prevote(shard int, term bigint, candidate int, progress bigint)
    RETURNS TABLE (term bigint, granted boolean)
    AS 'MODULE_PATHNAME', 'tidal_shard_request_prevote'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
CREATE FUNCTION tidal._shard_heartbeat(shard int, term bigint, leader int)
    RETURNS TABLE (term bigint, ok boolean)
    AS 'MODULE_PATHNAME', 'tidal_shard_heartbeat'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION tidal._shard_request_vote(int, bigint, int, bigint),
                       tidal._shard_request_prevote(int, bigint, int, bigint),
                       tidal._shard_heartbeat(int, bigint, int) FROM PUBLIC;

CREATE FUNCTION tidal._shard_election_status()
    RETURNS TABLE (role text, term bigint, leader_node int, last_heartbeat timestamptz,
                   leader_since timestamptz, members int)
    AS 'MODULE_PATHNAME', 'tidal_shard_election_status'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;

-- This node's shard: its nodes (this one and its members), which leads
-- it, and each node's lag (from this node's view). role: 'leader' or
-- 'follower'; a shard of one node leads itself.
CREATE VIEW tidal.shard_nodes AS
    WITH me AS (
        SELECT pg_catalog.current_setting('tidal.node_id')::int AS node),
    e AS (SELECT * FROM tidal._shard_election_status())
    SELECT me.node, true AS is_local,
           CASE WHEN e.leader_node = me.node THEN 'leader' ELSE 'follower' END AS role,
           e.term, e.leader_node, 'healthy'::text AS health, 0::bigint AS lag_seqno, 0::bigint AS lag_ms,
           NULL::timestamptz AS last_contact
      FROM me, e
    UNION ALL
    SELECT r.node, false,
           CASE WHEN e.leader_node = r.node THEN 'leader' ELSE 'follower' END,
           e.term, e.leader_node, r.health, r.lag_seqno, r.lag_ms, r.last_contact
      FROM tidal.replication_status r, e
     WHERE r.node IS NOT NULL;
COMMENT ON VIEW tidal.shard_nodes IS
    'the nodes of this node''s shard: which leads it (tidal.node_id), the term, and each node''s health and lag as this node sees it';
GRANT SELECT ON tidal.shard_nodes TO PUBLIC;

-- Every instance this node knows of: one row per region and shard, and one
-- per member of this node's own shard (node given: this node and its
-- members). applied_seq: the highest sequence applied here of the writes
-- of that shard (of that member, for a member).
CREATE VIEW tidal.topology AS
    WITH me AS (
        SELECT pg_catalog.current_setting('tidal.region_id')::int AS region,
               pg_catalog.current_setting('tidal.shard_id')::int AS shard,
               pg_catalog.current_setting('tidal.node_id')::int AS node),
    known AS (
        SELECT region, shard, node FROM me
        UNION SELECT region_id, shard_id, node_id FROM tidal.peer_defs
        UNION SELECT o.region, o.shard, NULL FROM tidal.origins o, me
               WHERE (o.region, o.shard) <> (me.region, me.shard)),
    applied AS (
        SELECT region, shard, node, last_seq FROM tidal.origins
        UNION ALL
        SELECT region, shard, NULL, pg_catalog.max(last_seq) FROM tidal.origins GROUP BY region, shard)
    SELECT k.region, k.shard, k.node,
           CASE WHEN k.node IS NOT NULL AND k.node IS DISTINCT FROM se.leader_node THEN 'follower'
                WHEN k.shard = 0 AND k.region = e.leader_region THEN 'leader'
                ELSE 'primary' END AS role,
           CASE WHEN k.node = me.node AND (k.region, k.shard) = (me.region, me.shard) THEN 'self'
                WHEN k.node IS NOT NULL THEN 'shard member'
                WHEN r.region IS NULL THEN 'relayed'
                WHEN k.shard = me.shard THEN 'region peer'
                ELSE 'shard sibling' END AS link,
           CASE WHEN k.node = me.node AND (k.region, k.shard) = (me.region, me.shard) THEN 'healthy'
                ELSE r.health END AS health,
           r.lag_seqno, r.lag_ms,
           coalesce(o.last_seq, 0) AS applied_seq,
           r.last_contact
      FROM known k CROSS JOIN me CROSS JOIN tidal._election_status() e
      CROSS JOIN tidal._shard_election_status() se
      LEFT JOIN tidal.replication_status r
             ON r.region = k.region AND r.shard = k.shard AND r.node IS NOT DISTINCT FROM k.node
      LEFT JOIN applied o
             ON o.region = k.region AND o.shard = k.shard AND o.node IS NOT DISTINCT FROM k.node
     ORDER BY k.region, k.shard, k.node NULLS FIRST;
COMMENT ON VIEW tidal.topology IS
    'every instance this node knows of: region, shard, node (this one''s and its shard''s members), role (leader, primary, or follower of its shard), how it is reached, health, lag, and how much of its writes is applied here';
GRANT SELECT ON tidal.topology TO PUBLIC;
