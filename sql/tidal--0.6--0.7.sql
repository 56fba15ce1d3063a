-- tidal 0.6 -> 0.7: shards in a region. Peers of other shards, the shard
-- map replicated from the cluster leader, writes and reads of entities owned
-- by another shard, and the topology of a cluster.
-- This upgrade script is assembled from this header and the sql/tidal/97_*.sql
-- parts (see UPGRADE_0_7 in the Makefile): each part holds statements that are
-- right both after a fresh install of the earlier parts and on a 0.6 database,
-- so an upgraded database and a fresh install run the same statements.

\echo Use "ALTER EXTENSION tidal UPDATE TO '0.7'" to load this file. \quit
-- ---------------------------------------------------------------------------
-- 0.7: tidal.retrieve reads the items' facts (creator, creation time, small
-- metadata) from shared memory, a copy of tidal.item_data that tidal's own
-- item writes keep in step at commit and every rebuild of the hot state
-- reloads (src/state/facts.c).  A write to tidal.item_data by any other way
-- (pg_restore's COPY, an operator's UPDATE or DELETE) marks the copy stale,
-- as a write to the log's tables does (95_backup.sql): the next use
-- rebuilds it from the table.  Right on a fresh install and on a 0.6
-- database alike: tidal._data_changed exists in both.
-- ---------------------------------------------------------------------------
CREATE TRIGGER data_changed BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON tidal.item_data
    FOR EACH STATEMENT EXECUTE FUNCTION tidal._data_changed();

CREATE FUNCTION tidal.item_facts_stats(OUT items bigint, OUT capacity bigint,
                                       OUT metadata_bytes int, OUT complete boolean)
    AS 'MODULE_PATHNAME', 'tidal_item_facts_stats'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.item_facts_stats() IS
    'items of this database whose facts shared memory holds for tidal.retrieve, its capacity (tidal.max_items, all databases), tidal.item_metadata_bytes, and whether it holds them all (else retrieve reads tidal.item_data)';
-- ---------------------------------------------------------------------------
-- 0.7: shards in a region (issue 14).
--
-- A peer is now a node, (region_id, shard_id): the same shard in another
-- region (a region peer, as every peer was before), or another shard of this
-- region (a shard sibling, which pulls this node's own writes of the
-- entities it owns). The shard map travels through the log from the
-- cluster leader, with a version.
-- ---------------------------------------------------------------------------

-- Peers are nodes. Before 0.7 every peer was a peer of this node's shard.
ALTER TABLE tidal.peer_defs
    ADD COLUMN shard_id int NOT NULL DEFAULT 0 CHECK (shard_id BETWEEN 0 AND 1023);
UPDATE tidal.peer_defs SET shard_id = pg_catalog.current_setting('tidal.shard_id')::int;
ALTER TABLE tidal.peer_defs DROP CONSTRAINT peer_defs_pkey, ADD PRIMARY KEY (region_id, shard_id);

DROP FUNCTION tidal.add_peer(int, text);
CREATE FUNCTION tidal.add_peer(region_id int, conninfo text, shard_id int DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'tidal_add_peer'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.add_peer(int, text, int) IS
    'exchange tidal''s log with a node reached with this libpq connection string: shard_id (NULL: this node''s) of another region, or another shard of this region';
DROP FUNCTION tidal.drop_peer(int);
CREATE FUNCTION tidal.drop_peer(region_id int, shard_id int DEFAULT NULL)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'tidal_drop_peer'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.drop_peer(int, int) IS
    'stop exchanging tidal''s log with a node (shard_id NULL: this node''s shard)';
REVOKE ALL ON FUNCTION tidal.add_peer(int, text, int), tidal.drop_peer(int, int) FROM PUBLIC;

CREATE OR REPLACE VIEW tidal.peers AS
    SELECT region_id, conninfo, added_at, shard_id FROM tidal.peer_defs;
COMMENT ON VIEW tidal.peers IS
    'the nodes this node exchanges tidal''s log with: its shard in other regions, and the other shards of its region';

-- What shared memory says of each peer, now with its shard. The views that
-- read these functions are made again below.
DROP VIEW tidal.cluster;
DROP VIEW tidal.replication_status;
DROP FUNCTION tidal._peer_status();
DROP FUNCTION tidal._peer_errors();
CREATE FUNCTION tidal._peer_status()
    RETURNS TABLE (region_id int, state text, batches_sent bigint, acked_batch bigint,
                   acked_seq bigint, batches_pulled bigint, behind_seq bigint,
                   last_contact timestamptz, last_pull timestamptz, shard_id int)
    AS 'MODULE_PATHNAME', 'tidal_peer_status'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
CREATE FUNCTION tidal._peer_errors()
    RETURNS TABLE (region_id int, quarantined boolean, last_error text, last_error_at timestamptz,
                   shard_id int)
    AS 'MODULE_PATHNAME', 'tidal_peer_errors'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal._peer_errors() IS
    'per peer: whether a batch of it is held, and why its last refused batch or answer was refused';
GRANT EXECUTE ON FUNCTION tidal._peer_errors() TO PUBLIC;

CREATE VIEW tidal.replication_status AS
    WITH local AS (SELECT tidal.local_seqno() AS seq),
    peer AS (
        SELECT d.region_id, d.shard_id, s.state, s.batches_sent, s.acked_batch, s.acked_seq,
               s.last_contact,
               greatest((SELECT seq FROM local) - coalesce(s.acked_seq, 0), 0)
                 + coalesce(s.behind_seq, 0) AS lag_seqno,
               (SELECT min(b.sealed_at) FROM tidal.batches b
                 WHERE b.origin_region = current_setting('tidal.region_id')::int
                   AND b.origin_shard = current_setting('tidal.shard_id')::int
                   AND b.last_seq > coalesce(s.acked_seq, 0)) AS oldest_unacked
          FROM tidal.peer_defs d LEFT JOIN tidal._peer_status() s USING (region_id, shard_id))
    SELECT peer.region_id AS region,
           coalesce(state, 'disconnected') AS state,
           coalesce(batches_sent, 0) AS batches_sent,
           coalesce(acked_batch, 0) AS batches_acknowledged,
           (SELECT coalesce(sum(o.last_batch), 0)::bigint FROM tidal.origins o
             WHERE o.region = peer.region_id AND o.shard = peer.shard_id) AS batches_applied,
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
           peer.shard_id AS shard
      FROM peer LEFT JOIN tidal._peer_errors() e USING (region_id, shard_id);
COMMENT ON VIEW tidal.replication_status IS
    'one row per peer (region, shard): connection, batches shipped each way, lag and health; quarantined: a batch of it is held (refused: invalid, or stamped beyond tidal.max_clock_offset), last_error says why';
GRANT SELECT ON tidal.replication_status TO PUBLIC;

-- The regions of the cluster: this node and its region peers (the other
-- shards of this region have elections of their own, and are in
-- tidal.topology).
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
     WHERE r.shard = current_setting('tidal.shard_id')::int;
COMMENT ON VIEW tidal.cluster IS
    'the regions of the cluster: this node''s role and term, the leader, and each region''s health';
GRANT SELECT ON tidal.cluster TO PUBLIC;

-- What each peer said it has applied: peers are nodes.
ALTER TABLE tidal.peer_progress ADD COLUMN peer_shard int NOT NULL DEFAULT 0;
UPDATE tidal.peer_progress SET peer_shard = pg_catalog.current_setting('tidal.shard_id')::int;
ALTER TABLE tidal.peer_progress DROP CONSTRAINT peer_progress_pkey,
    ADD PRIMARY KEY (peer_region, peer_shard, origin_region, origin_shard);

-- The shard map is the cluster's: set on the leader, replicated (record
-- kind 9), the highest version wins.
ALTER TABLE tidal.shard_map ADD COLUMN version bigint NOT NULL DEFAULT 0,
    ADD COLUMN defined_at tidal.hlc,
    ADD COLUMN range_shards int[];   -- a ranges map's shard of each range (NULL: range i is shard i)
CREATE OR REPLACE VIEW tidal.shards AS
    SELECT coalesce((SELECT mode FROM tidal.shard_map), 'single') AS mode,
           coalesce((SELECT shard_count FROM tidal.shard_map), 1) AS shard_count,
           (SELECT ranges FROM tidal.shard_map) AS ranges,
           coalesce((SELECT version FROM tidal.shard_map), 0) AS version,
           (SELECT defined_at FROM tidal.shard_map) AS defined_at,
           (SELECT range_shards FROM tidal.shard_map) AS range_shards;
COMMENT ON VIEW tidal.shards IS 'the cluster''s shard map, its version, when the leader set it, and (after a range moved) the shard of each range';
COMMENT ON FUNCTION tidal.set_shard_map(text, int, int8range[]) IS
    'route the default tenant''s entities to shards (on the leader; replicated): ''single'', ''hash'' with shard_count, or ''ranges'' covering every bigint';

-- A shard sibling's read of an entity this shard owns (tidal.decay_score,
-- window_count and velocity there forward here): once this node has applied
-- the caller's log up to after_seq (read-your-writes), the read. Called by
-- the role shard siblings connect as: grant it EXECUTE, as on tidal._ship.
-- map_version: the caller's shard map (a node behind it waits for it; one
-- ahead of it, that no longer owns the entity, asks the owner).
CREATE FUNCTION tidal._read_owned(what text, entity bigint, name text, window_us bigint, at_us bigint,
                                  tenant bigint, after_region int, after_shard int, after_seq bigint,
                                  map_version bigint)
    RETURNS float8
    AS 'MODULE_PATHNAME', 'tidal_read_owned'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION tidal._read_owned(text, bigint, text, bigint, bigint, bigint, int, int, bigint, bigint)
    FROM PUBLIC;

-- Every instance of the cluster this node knows of: itself, its peers (its
-- shard in other regions, the other shards of its region), and every other
-- node whose writes have reached it (relayed). role: 'leader' for the
-- cluster leader (a node of shard 0), else 'primary' (one instance per
-- shard and region for now). link: how this node reaches it.
CREATE VIEW tidal.topology AS
    WITH me AS (
        SELECT pg_catalog.current_setting('tidal.region_id')::int AS region,
               pg_catalog.current_setting('tidal.shard_id')::int AS shard),
    known AS (
        SELECT region, shard FROM me
        UNION SELECT region_id, shard_id FROM tidal.peer_defs
        UNION SELECT region, shard FROM tidal.origins)
    SELECT k.region, k.shard,
           CASE WHEN (k.region, k.shard) = (me.region, me.shard)
                THEN pg_catalog.current_setting('tidal.node_id')::int END AS node,
           CASE WHEN k.shard = 0 AND k.region = e.leader_region THEN 'leader' ELSE 'primary' END AS role,
           CASE WHEN (k.region, k.shard) = (me.region, me.shard) THEN 'self'
                WHEN r.region IS NULL THEN 'relayed'
                WHEN k.shard = me.shard THEN 'region peer'
                ELSE 'shard sibling' END AS link,
           CASE WHEN (k.region, k.shard) = (me.region, me.shard) THEN 'healthy' ELSE r.health END AS health,
           r.lag_seqno, r.lag_ms,
           coalesce(o.last_seq, 0) AS applied_seq,
           r.last_contact
      FROM known k CROSS JOIN me CROSS JOIN tidal._election_status() e
      LEFT JOIN tidal.replication_status r ON r.region = k.region AND r.shard = k.shard
      LEFT JOIN tidal.origins o ON o.region = k.region AND o.shard = k.shard
     ORDER BY k.region, k.shard;
COMMENT ON VIEW tidal.topology IS
    'every instance this node knows of: region, shard, node (this one''s), role, how it is reached, health, lag, and how much of its writes is applied here';
GRANT SELECT ON tidal.topology TO PUBLIC;

-- A shard sibling's tidal.retrieve asks this shard for its part: the
-- candidates this shard owns (every item it owns for NULL), ranked, then one
-- row of stats. Called by the role shard siblings connect as. map_version:
-- the caller's shard map (this node waits until it has it; a caller behind
-- this node's map is refused, so that it does not rank a moved range here).
CREATE FUNCTION tidal._retrieve_part(for_user bigint, candidates bigint[], profile text, filter jsonb,
                                     max_per_creator int, lim int, at_us bigint, tenant bigint,
                                     after_region int, after_shard int, after_seq bigint,
                                     map_version bigint)
    RETURNS TABLE (item_id bigint, score float8, creator bigint, stats text)
    AS 'MODULE_PATHNAME', 'tidal_retrieve_part'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION tidal._retrieve_part(bigint, bigint[], text, jsonb, int, int, bigint, bigint, int, int, bigint,
                                            bigint)
    FROM PUBLIC;
-- ---------------------------------------------------------------------------
-- 0.7: online resharding.  tidal.move_shard_range gives a range of the
-- default tenant's entities to another shard while writes go on (on the
-- leader, in a 'ranges' map; replicated with the map, record kind 9).  In
-- each region the old shard hands the range's hot-state entries to the new
-- one through its log (record kind 10) when it applies the map, and from
-- then on hands on any late event of the range (src/cluster/reshard.c,
-- docs/design/resharding.md).
-- ---------------------------------------------------------------------------

-- Every move this node knows of, and what it did about it.  Node-local:
-- cut_at on a node of from_shard (it handed the range's entries over),
-- received_at on a node of to_shard (its region's handoff has arrived).
CREATE TABLE tidal.range_moves (
    version     bigint PRIMARY KEY,       -- the shard map version that made the move
    entities    int8range NOT NULL,
    from_shard  int NOT NULL,
    to_shard    int NOT NULL,
    learned_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    cut_at      timestamptz,
    received_at timestamptz,
    CHECK (version >= 1 AND NOT pg_catalog.isempty(entities)
           AND from_shard BETWEEN 0 AND 1023 AND to_shard BETWEEN 0 AND 1023 AND from_shard <> to_shard)
);
COMMENT ON TABLE tidal.range_moves IS
    'ranges of entities moved from one shard to another (tidal.move_shard_range): cut_at when this node handed its entries over, received_at when this node received its region''s handoff';
GRANT SELECT ON tidal.range_moves TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('tidal.range_moves', '');

CREATE FUNCTION tidal.move_shard_range(entities int8range, to_shard int)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'tidal_move_shard_range'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.move_shard_range(int8range, int) IS
    'give a range of the default tenant''s entities to another shard (a new one: shard_count + 1) while writes go on; on the leader, in a ''ranges'' map; returns the new map version';
REVOKE ALL ON FUNCTION tidal.move_shard_range(int8range, int) FROM PUBLIC;

-- How many (entity, signal) pairs of a range this node's hot state holds:
-- after a move, the range's old shard holds none.
CREATE FUNCTION tidal.state_entries(entities int8range, tenant bigint DEFAULT 0)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'tidal_state_entries'
    LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.state_entries(int8range, bigint) IS
    'the hot state''s (entity, signal) pairs of a range of entities on this node (after a move, its old shard holds none)';
-- it counts any tenant's entries: the operator's, grantable
REVOKE ALL ON FUNCTION tidal.state_entries(int8range, bigint) FROM PUBLIC;
