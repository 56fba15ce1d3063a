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
