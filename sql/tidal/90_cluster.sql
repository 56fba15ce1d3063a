-- ---------------------------------------------------------------------------
-- Leader election (since 0.2): Raft's rules among this node and its peers.
-- ---------------------------------------------------------------------------

-- The durable part of Raft's state: the current term and this node's vote in it.
CREATE TABLE tidal.raft_state (
    one          boolean PRIMARY KEY DEFAULT true CHECK (one),
    current_term bigint NOT NULL DEFAULT 0,
    voted_for    int
);
INSERT INTO tidal.raft_state DEFAULT VALUES;
REVOKE ALL ON tidal.raft_state FROM PUBLIC;

-- Called by peers' election workers over libpq; grant EXECUTE to the peer role.
CREATE FUNCTION tidal._request_vote(term bigint, candidate int, progress bigint)
    RETURNS TABLE (term bigint, granted boolean)
    AS 'MODULE_PATHNAME', 'tidal_request_vote'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
CREATE FUNCTION tidal._heartbeat(term bigint, leader int)
    RETURNS TABLE (term bigint, ok boolean)
    AS 'MODULE_PATHNAME', 'tidal_heartbeat'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION tidal._request_vote(bigint, int, bigint), tidal._heartbeat(bigint, int) FROM PUBLIC;

CREATE FUNCTION tidal._election_status()
    RETURNS TABLE (role text, term bigint, leader_region int, last_heartbeat timestamptz,
                   leader_since timestamptz, members int)
    AS 'MODULE_PATHNAME', 'tidal_election_status'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;

-- One row per region of the cluster as this node sees it: itself, and its peers.
CREATE VIEW tidal.cluster AS
    SELECT current_setting('tidal.node_id')::int AS node,
           current_setting('tidal.region_id')::int AS region,
           e.role, e.term, e.leader_region, 'healthy'::text AS health, true AS is_local
      FROM tidal._election_status() e
    UNION ALL
    SELECT NULL, r.region,
           CASE WHEN r.region = e.leader_region THEN 'leader' ELSE 'follower' END,
           e.term, e.leader_region, r.health, false
      FROM tidal.replication_status r, tidal._election_status() e;
COMMENT ON VIEW tidal.cluster IS
    'the regions of the cluster: this node''s role and term, the leader, and each region''s health';
GRANT SELECT ON tidal.cluster TO PUBLIC;
