-- tidal: decaying signals, ranking and multi-region CRDT replication.
-- This install script is assembled from sql/tidal/*.sql in name order.

\echo Use "CREATE EXTENSION tidal" to load this file. \quit

-- Everyday calls need no superuser; the tables stay private (see 20_log.sql).
GRANT USAGE ON SCHEMA tidal TO PUBLIC;
-- 10_hlc.sql: the tidal.hlc hybrid logical clock timestamp type, its
-- operators and opclasses, and this node's clock (hlc_now, hlc_receive).

CREATE TYPE tidal.hlc;

CREATE FUNCTION tidal.hlc_in(cstring) RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_hlc_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tidal.hlc_out(tidal.hlc) RETURNS cstring
    AS 'MODULE_PATHNAME', 'tidal_hlc_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tidal.hlc_recv(internal) RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_hlc_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tidal.hlc_send(tidal.hlc) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tidal_hlc_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE tidal.hlc (
    INTERNALLENGTH = 16,
    INPUT = tidal.hlc_in,
    OUTPUT = tidal.hlc_out,
    RECEIVE = tidal.hlc_recv,
    SEND = tidal.hlc_send,
    ALIGNMENT = double,
    STORAGE = plain
);

COMMENT ON TYPE tidal.hlc IS
    'hybrid logical clock timestamp (wall_ns, logical, node), ordered by wall time, then logical counter, then node';

-- constructor and accessors

CREATE FUNCTION tidal.hlc(wall_ns bigint, logical int, node int) RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_hlc_make' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tidal.hlc_wall_ns(tidal.hlc) RETURNS bigint
    AS 'MODULE_PATHNAME', 'tidal_hlc_wall_ns' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tidal.hlc_logical(tidal.hlc) RETURNS int
    AS 'MODULE_PATHNAME', 'tidal_hlc_logical' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tidal.hlc_node(tidal.hlc) RETURNS int
    AS 'MODULE_PATHNAME', 'tidal_hlc_node' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tidal.hlc_to_timestamptz(tidal.hlc) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'tidal_hlc_to_timestamptz' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- comparison

CREATE FUNCTION tidal.hlc_lt(tidal.hlc, tidal.hlc) RETURNS bool
    AS 'MODULE_PATHNAME', 'tidal_hlc_lt' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION tidal.hlc_le(tidal.hlc, tidal.hlc) RETURNS bool
    AS 'MODULE_PATHNAME', 'tidal_hlc_le' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION tidal.hlc_eq(tidal.hlc, tidal.hlc) RETURNS bool
    AS 'MODULE_PATHNAME', 'tidal_hlc_eq' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION tidal.hlc_ne(tidal.hlc, tidal.hlc) RETURNS bool
    AS 'MODULE_PATHNAME', 'tidal_hlc_ne' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION tidal.hlc_ge(tidal.hlc, tidal.hlc) RETURNS bool
    AS 'MODULE_PATHNAME', 'tidal_hlc_ge' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION tidal.hlc_gt(tidal.hlc, tidal.hlc) RETURNS bool
    AS 'MODULE_PATHNAME', 'tidal_hlc_gt' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION tidal.hlc_cmp(tidal.hlc, tidal.hlc) RETURNS int
    AS 'MODULE_PATHNAME', 'tidal_hlc_cmp' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION tidal.hlc_sortsupport(internal) RETURNS void
    AS 'MODULE_PATHNAME', 'tidal_hlc_sortsupport' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tidal.hlc_hash(tidal.hlc) RETURNS int
    AS 'MODULE_PATHNAME', 'tidal_hlc_hash' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION tidal.hlc_hash_extended(tidal.hlc, bigint) RETURNS bigint
    AS 'MODULE_PATHNAME', 'tidal_hlc_hash_extended' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;

CREATE OPERATOR tidal.< (
    LEFTARG = tidal.hlc, RIGHTARG = tidal.hlc, FUNCTION = tidal.hlc_lt,
    COMMUTATOR = OPERATOR(tidal.>), NEGATOR = OPERATOR(tidal.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR tidal.<= (
    LEFTARG = tidal.hlc, RIGHTARG = tidal.hlc, FUNCTION = tidal.hlc_le,
    COMMUTATOR = OPERATOR(tidal.>=), NEGATOR = OPERATOR(tidal.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR tidal.= (
    LEFTARG = tidal.hlc, RIGHTARG = tidal.hlc, FUNCTION = tidal.hlc_eq,
    COMMUTATOR = OPERATOR(tidal.=), NEGATOR = OPERATOR(tidal.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR tidal.<> (
    LEFTARG = tidal.hlc, RIGHTARG = tidal.hlc, FUNCTION = tidal.hlc_ne,
    COMMUTATOR = OPERATOR(tidal.<>), NEGATOR = OPERATOR(tidal.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR tidal.>= (
    LEFTARG = tidal.hlc, RIGHTARG = tidal.hlc, FUNCTION = tidal.hlc_ge,
    COMMUTATOR = OPERATOR(tidal.<=), NEGATOR = OPERATOR(tidal.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);
CREATE OPERATOR tidal.> (
    LEFTARG = tidal.hlc, RIGHTARG = tidal.hlc, FUNCTION = tidal.hlc_gt,
    COMMUTATOR = OPERATOR(tidal.<), NEGATOR = OPERATOR(tidal.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);

CREATE OPERATOR CLASS tidal.hlc_ops
    DEFAULT FOR TYPE tidal.hlc USING btree AS
        OPERATOR 1 tidal.<,
        OPERATOR 2 tidal.<=,
        OPERATOR 3 tidal.=,
        OPERATOR 4 tidal.>=,
        OPERATOR 5 tidal.>,
        FUNCTION 1 tidal.hlc_cmp(tidal.hlc, tidal.hlc),
        FUNCTION 2 tidal.hlc_sortsupport(internal);

CREATE OPERATOR CLASS tidal.hlc_hash_ops
    DEFAULT FOR TYPE tidal.hlc USING hash AS
        OPERATOR 1 tidal.=,
        FUNCTION 1 tidal.hlc_hash(tidal.hlc),
        FUNCTION 2 tidal.hlc_hash_extended(tidal.hlc, bigint);

-- tidal.max(tidal.hlc) and tidal.min(tidal.hlc), e.g. the latest hlc in a table

CREATE FUNCTION tidal.hlc_larger(tidal.hlc, tidal.hlc) RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_hlc_larger' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tidal.hlc_smaller(tidal.hlc, tidal.hlc) RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_hlc_smaller' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE tidal.max(tidal.hlc) (
    SFUNC = tidal.hlc_larger,
    STYPE = tidal.hlc,
    COMBINEFUNC = tidal.hlc_larger,
    SORTOP = OPERATOR(tidal.>),
    PARALLEL = SAFE
);
CREATE AGGREGATE tidal.min(tidal.hlc) (
    SFUNC = tidal.hlc_smaller,
    STYPE = tidal.hlc,
    COMBINEFUNC = tidal.hlc_smaller,
    SORTOP = OPERATOR(tidal.<),
    PARALLEL = SAFE
);

-- the clock of this node (needs tidal in shared_preload_libraries)

CREATE FUNCTION tidal.hlc_now() RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_hlc_now' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION tidal.hlc_now() IS
    'issue a new hlc from this node''s clock, greater than every hlc it issued or received before';

CREATE FUNCTION tidal.hlc_receive(remote tidal.hlc) RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_hlc_receive' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION tidal.hlc_receive(tidal.hlc) IS
    'merge a remote hlc into this node''s clock and return a new local hlc greater than both; errors if the remote is more than tidal.max_clock_offset ahead';
-- 11_crdt.sql: state-based CRDT value types, tidal.pncounter (a
-- positive-negative counter) and tidal.lww (a last-writer-wins register).

-- tidal.pncounter

CREATE TYPE tidal.pncounter;

CREATE FUNCTION tidal.pncounter_in(cstring) RETURNS tidal.pncounter
    AS 'MODULE_PATHNAME', 'tidal_pncounter_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tidal.pncounter_out(tidal.pncounter) RETURNS cstring
    AS 'MODULE_PATHNAME', 'tidal_pncounter_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tidal.pncounter_recv(internal) RETURNS tidal.pncounter
    AS 'MODULE_PATHNAME', 'tidal_pncounter_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tidal.pncounter_send(tidal.pncounter) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tidal_pncounter_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE tidal.pncounter (
    INTERNALLENGTH = VARIABLE,
    INPUT = tidal.pncounter_in,
    OUTPUT = tidal.pncounter_out,
    RECEIVE = tidal.pncounter_recv,
    SEND = tidal.pncounter_send,
    ALIGNMENT = double,
    STORAGE = extended
);

COMMENT ON TYPE tidal.pncounter IS
    'positive-negative counter CRDT: {node:increments:decrements,...}';

-- Not strict: a NULL counter is the empty counter.  A NULL node or delta is
-- an error.
CREATE FUNCTION tidal.pncounter_add(c tidal.pncounter, node int, delta bigint)
    RETURNS tidal.pncounter
    AS 'MODULE_PATHNAME', 'tidal_pncounter_add' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION tidal.pncounter_value(c tidal.pncounter) RETURNS bigint
    AS 'MODULE_PATHNAME', 'tidal_pncounter_value' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- Not strict: a NULL side yields the other side.
CREATE FUNCTION tidal.pncounter_merge(a tidal.pncounter, b tidal.pncounter)
    RETURNS tidal.pncounter
    AS 'MODULE_PATHNAME', 'tidal_pncounter_merge' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE tidal.pncounter_merge_agg(tidal.pncounter) (
    SFUNC = tidal.pncounter_merge,
    STYPE = tidal.pncounter,
    COMBINEFUNC = tidal.pncounter_merge,
    PARALLEL = SAFE
);

CREATE FUNCTION tidal.pncounter_eq(tidal.pncounter, tidal.pncounter) RETURNS bool
    AS 'MODULE_PATHNAME', 'tidal_pncounter_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tidal.pncounter_ne(tidal.pncounter, tidal.pncounter) RETURNS bool
    AS 'MODULE_PATHNAME', 'tidal_pncounter_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR tidal.= (
    LEFTARG = tidal.pncounter, RIGHTARG = tidal.pncounter, FUNCTION = tidal.pncounter_eq,
    COMMUTATOR = OPERATOR(tidal.=), NEGATOR = OPERATOR(tidal.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel
);
CREATE OPERATOR tidal.<> (
    LEFTARG = tidal.pncounter, RIGHTARG = tidal.pncounter, FUNCTION = tidal.pncounter_ne,
    COMMUTATOR = OPERATOR(tidal.<>), NEGATOR = OPERATOR(tidal.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);

-- tidal.lww

CREATE TYPE tidal.lww;

CREATE FUNCTION tidal.lww_in(cstring) RETURNS tidal.lww
    AS 'MODULE_PATHNAME', 'tidal_lww_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tidal.lww_out(tidal.lww) RETURNS cstring
    AS 'MODULE_PATHNAME', 'tidal_lww_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tidal.lww_recv(internal) RETURNS tidal.lww
    AS 'MODULE_PATHNAME', 'tidal_lww_recv' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tidal.lww_send(tidal.lww) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tidal_lww_send' LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE TYPE tidal.lww (
    INTERNALLENGTH = VARIABLE,
    INPUT = tidal.lww_in,
    OUTPUT = tidal.lww_out,
    RECEIVE = tidal.lww_recv,
    SEND = tidal.lww_send,
    ALIGNMENT = double,
    STORAGE = extended
);

COMMENT ON TYPE tidal.lww IS
    'last-writer-wins register CRDT: (wall_ns,logical,node):"value"';

-- Not strict: a NULL register is the empty register.  A NULL value or hlc
-- is an error.
CREATE FUNCTION tidal.lww_set(r tidal.lww, value text, at tidal.hlc) RETURNS tidal.lww
    AS 'MODULE_PATHNAME', 'tidal_lww_set' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION tidal.lww_value(r tidal.lww) RETURNS text
    AS 'MODULE_PATHNAME', 'tidal_lww_value' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tidal.lww_at(r tidal.lww) RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_lww_at' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- Not strict: a NULL side yields the other side.
CREATE FUNCTION tidal.lww_merge(a tidal.lww, b tidal.lww) RETURNS tidal.lww
    AS 'MODULE_PATHNAME', 'tidal_lww_merge' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE tidal.lww_merge_agg(tidal.lww) (
    SFUNC = tidal.lww_merge,
    STYPE = tidal.lww,
    COMBINEFUNC = tidal.lww_merge,
    PARALLEL = SAFE
);

CREATE FUNCTION tidal.lww_eq(tidal.lww, tidal.lww) RETURNS bool
    AS 'MODULE_PATHNAME', 'tidal_lww_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tidal.lww_ne(tidal.lww, tidal.lww) RETURNS bool
    AS 'MODULE_PATHNAME', 'tidal_lww_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR tidal.= (
    LEFTARG = tidal.lww, RIGHTARG = tidal.lww, FUNCTION = tidal.lww_eq,
    COMMUTATOR = OPERATOR(tidal.=), NEGATOR = OPERATOR(tidal.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel
);
CREATE OPERATOR tidal.<> (
    LEFTARG = tidal.lww, RIGHTARG = tidal.lww, FUNCTION = tidal.lww_ne,
    COMMUTATOR = OPERATOR(tidal.<>), NEGATOR = OPERATOR(tidal.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
-- ---------------------------------------------------------------------------
-- tidal's own log (docs/log-format.md).
-- Reached only through tidal's functions, which run as the extension owner.
-- ---------------------------------------------------------------------------

-- Records of transactions that wrote tidal events, until the sealer moves
-- them into a batch.  No index: it is appended to and drained in bulk.
CREATE TABLE tidal.pending (
    record bytea NOT NULL
);
ALTER TABLE tidal.pending ALTER COLUMN record SET STORAGE EXTERNAL;

-- Sealed batches of every origin this node knows, gapless per origin.
CREATE TABLE tidal.batches (
    origin_region int NOT NULL,
    origin_shard  int NOT NULL,
    batch_no      bigint NOT NULL,
    first_seq     bigint NOT NULL,
    last_seq      bigint NOT NULL,
    event_count   int NOT NULL,
    origin_node   int NOT NULL,
    sealed_at     timestamptz NOT NULL DEFAULT now(),
    batch         bytea NOT NULL,
    PRIMARY KEY (origin_region, origin_shard, batch_no),
    UNIQUE (origin_region, origin_shard, first_seq),
    CHECK (last_seq - first_seq + 1 = event_count)
);
ALTER TABLE tidal.batches ALTER COLUMN batch SET STORAGE EXTERNAL;

-- Per origin: the last sequence and batch number sealed (local origin) or
-- applied (other origins).
CREATE TABLE tidal.origins (
    region     int NOT NULL,
    shard      int NOT NULL,
    last_seq   bigint NOT NULL DEFAULT 0,
    last_batch bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (region, shard)
);

REVOKE ALL ON tidal.pending, tidal.batches, tidal.origins FROM PUBLIC;

CREATE FUNCTION tidal.seal() RETURNS bigint
    AS 'MODULE_PATHNAME', 'tidal_seal'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.seal() IS
    'seal committed log records of this origin into batches now; returns the number of events sealed';

CREATE VIEW tidal.log_batches AS
    SELECT format('%s:%s:%s', origin_region, origin_shard, first_seq) AS segment_id,
           origin_region, origin_shard, origin_node, batch_no, first_seq, last_seq,
           event_count, octet_length(batch) AS bytes, sealed_at
      FROM tidal.batches;
COMMENT ON VIEW tidal.log_batches IS 'sealed batches of tidal''s log, one row per batch';

CREATE VIEW tidal.log_status AS
    SELECT o.region AS origin_region, o.shard AS origin_shard,
           o.last_seq, o.last_batch,
           (o.region = current_setting('tidal.region_id')::int
            AND o.shard = current_setting('tidal.shard_id')::int) AS is_local
      FROM tidal.origins o;
COMMENT ON VIEW tidal.log_status IS 'per origin: the last sequence and batch number in this node''s log';

GRANT SELECT ON tidal.log_batches, tidal.log_status TO PUBLIC;
-- ---------------------------------------------------------------------------
-- Signals: definitions, writes and decayed reads.
-- ---------------------------------------------------------------------------

CREATE TABLE tidal.signal_defs (
    id          int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    half_life   interval NOT NULL,
    windows     interval[] NOT NULL DEFAULT '{}',
    entity_kind text NOT NULL DEFAULT 'item',
    defined_at  tidal.hlc NOT NULL
);
REVOKE ALL ON tidal.signal_defs FROM PUBLIC;

CREATE VIEW tidal.signals AS
    SELECT name, half_life, windows, entity_kind,
           tidal.hlc_to_timestamptz(defined_at) AS defined_at
      FROM tidal.signal_defs;
COMMENT ON VIEW tidal.signals IS 'defined signal types';
GRANT SELECT ON tidal.signals TO PUBLIC;

CREATE FUNCTION tidal.define_signal(name text, half_life interval,
                                    windows interval[] DEFAULT '{}',
                                    entity_kind text DEFAULT 'item')
    RETURNS void
    AS 'MODULE_PATHNAME', 'tidal_define_signal'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.define_signal(text, interval, interval[], text) IS
    'define a signal type with a half-life and at most two windows';

-- tidal.signal is defined in 92_tenants.sql (with an idempotency key since 0.2, a tenant since 0.3).

-- tidal.signal_batch, tidal.decay_score and tidal.window_count take a tenant
-- since 0.3: see 92_tenants.sql.

CREATE FUNCTION tidal.velocity(entity bigint, name text, win interval,
                               at timestamptz DEFAULT now())
    RETURNS float8
    AS 'MODULE_PATHNAME', 'tidal_velocity'
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.velocity(bigint, text, interval, timestamptz) IS
    'window_count per hour of the window';

CREATE FUNCTION tidal.state_stats(OUT entries bigint, OUT capacity bigint,
                                  OUT bytes_per_entry bigint, OUT loaded boolean)
    AS 'MODULE_PATHNAME', 'tidal_state_stats'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.state_stats() IS
    'hot state in shared memory: (entity, signal) pairs held, capacity, bytes per pair, whether it is loaded';
-- ---------------------------------------------------------------------------
-- Items and hard negatives (since 0.2).
-- Written through tidal's log; the tables hold the merged state.
-- ---------------------------------------------------------------------------

-- One row per item: a last-writer-wins register over the whole item.
CREATE TABLE tidal.item_data (
    tenant     bigint NOT NULL DEFAULT 0,
    item       bigint NOT NULL,
    creator    bigint,
    metadata   jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    updated_at tidal.hlc NOT NULL,
    PRIMARY KEY (tenant, item)
);

-- Per (user, target): the latest hide and the latest unhide seen.  The target
-- is hidden while no unhide is strictly later than the latest hide.
CREATE TABLE tidal.hides (
    tenant      bigint NOT NULL DEFAULT 0,
    user_id     bigint NOT NULL,
    target_kind "char" NOT NULL CHECK (target_kind IN ('i', 'c')),  -- item, creator
    target      bigint NOT NULL,
    hidden_at   tidal.hlc,
    unhidden_at tidal.hlc,
    PRIMARY KEY (tenant, user_id, target_kind, target)
);

REVOKE ALL ON tidal.item_data, tidal.hides FROM PUBLIC;

CREATE VIEW tidal.items AS
    SELECT item AS item_id, creator, metadata, created_at,
           tidal.hlc_to_timestamptz(updated_at) AS updated_at
      FROM tidal.item_data
     WHERE tenant = 0;
COMMENT ON VIEW tidal.items IS 'items known to tidal: creator, metadata, creation time';

CREATE VIEW tidal.hidden AS
    SELECT user_id,
           CASE target_kind WHEN 'i' THEN 'item' ELSE 'creator' END AS target_kind,
           target AS target_id,
           tidal.hlc_to_timestamptz(hidden_at) AS hidden_at
      FROM tidal.hides
     WHERE tenant = 0
       AND hidden_at IS NOT NULL
       AND (unhidden_at IS NULL OR unhidden_at OPERATOR(tidal.<=) hidden_at);
COMMENT ON VIEW tidal.hidden IS 'items users hid and creators they blocked, as of now';

GRANT SELECT ON tidal.items, tidal.hidden TO PUBLIC;

-- tidal.upsert_item takes a tenant since 0.3: see 92_tenants.sql.

-- The hide calls and tidal.is_hidden take a tenant since 0.4: see 94_tenant_hides.sql.
-- ---------------------------------------------------------------------------
-- Ranking profiles (since 0.2).  Spec format: docs/reference.md.
-- ---------------------------------------------------------------------------

CREATE TABLE tidal.profile_defs (
    name       text PRIMARY KEY,
    spec       jsonb NOT NULL,
    defined_at tidal.hlc NOT NULL
);
REVOKE ALL ON tidal.profile_defs FROM PUBLIC;

-- Built-ins, over every defined signal ("*").  Every node has them from its
-- install script, at the smallest HLC: any tidal.define_profile replaces them.
INSERT INTO tidal.profile_defs (name, spec, defined_at) VALUES
    ('popular',
     '{"terms": [{"signal": "*", "measure": "decay_score"}]}',
     tidal.hlc(0, 0, 0)),
    ('trending',
     '{"terms": [{"signal": "*", "measure": "velocity"},
                 {"signal": "*", "measure": "decay_score", "weight": 0.01}]}',
     tidal.hlc(0, 0, 0)),
    ('fresh',
     '{"freshness": {"half_life": "1 day", "weight": 1},
       "terms": [{"signal": "*", "measure": "decay_score", "weight": 0.1, "transform": "log1p"}]}',
     tidal.hlc(0, 0, 0));

CREATE VIEW tidal.profiles AS
    SELECT name, spec,
           defined_at OPERATOR(tidal.=) tidal.hlc(0, 0, 0) AS builtin,
           CASE WHEN defined_at OPERATOR(tidal.<>) tidal.hlc(0, 0, 0)
                THEN tidal.hlc_to_timestamptz(defined_at) END AS defined_at
      FROM tidal.profile_defs;
COMMENT ON VIEW tidal.profiles IS 'ranking profiles for tidal.retrieve';
GRANT SELECT ON tidal.profiles TO PUBLIC;

CREATE FUNCTION tidal.define_profile(name text, spec jsonb)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_define_profile'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.define_profile(text, jsonb) IS
    'define or replace a ranking profile: weighted signal measures and an optional freshness term';
-- ---------------------------------------------------------------------------
-- Ranking and feedback export (since 0.2).
-- ---------------------------------------------------------------------------

-- tidal.retrieve takes a tenant since 0.3: see 92_tenants.sql.

CREATE FUNCTION tidal.last_query_stats()
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'tidal_last_query_stats'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.last_query_stats() IS
    'how the last tidal.retrieve of this session made its answer';

CREATE FUNCTION tidal.export_feedback(since timestamptz, until timestamptz DEFAULT now(),
                                      user_id bigint DEFAULT NULL, signals text[] DEFAULT NULL)
    RETURNS SETOF jsonb
    AS 'MODULE_PATHNAME', 'tidal_export_feedback'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.export_feedback(timestamptz, timestamptz, bigint, text[]) IS
    'signal events and hides in the log as JSON, with positive or negative feedback marked';
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
-- ---------------------------------------------------------------------------
-- Idempotent writes (since 0.2): tidal.signal(..., idempotency_key).
-- ---------------------------------------------------------------------------

-- Per key, the write that counts, for tidal.idempotency_window (the sealer
-- forgets older keys).
CREATE TABLE tidal.idempotency_keys (
    key    text PRIMARY KEY,
    hlc    tidal.hlc NOT NULL,
    signal text NOT NULL,
    entity bigint NOT NULL,
    weight float8 NOT NULL,
    at_us  bigint NOT NULL
);
REVOKE ALL ON tidal.idempotency_keys FROM PUBLIC;

-- tidal.signal(..., idempotency_key, tenant): see 92_tenants.sql.
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
-- ---------------------------------------------------------------------------
-- Tenants (since 0.3): the registry, quotas and regions of each tenant, the
-- migration of a tenant to another region, and the tenant argument of the
-- write and read calls.  Tenant 0 is the default tenant: stored in every
-- region, without quotas, and needs no registration.
-- ---------------------------------------------------------------------------

-- The registry, replicated through tidal's log (record kind 6; the latest
-- registration by HLC wins).  NULL quotas are unlimited; NULL regions: all.
CREATE TABLE tidal.tenant_defs (
    tenant_id           bigint PRIMARY KEY CHECK (tenant_id > 0),
    label               text NOT NULL,
    max_signals_per_sec int CHECK (max_signals_per_sec > 0),
    max_entities        bigint CHECK (max_entities > 0),
    max_storage_bytes   bigint CHECK (max_storage_bytes > 0),
    required_regions    int[],
    shard               int NOT NULL DEFAULT 0,
    defined_at          tidal.hlc NOT NULL
);
REVOKE ALL ON tidal.tenant_defs FROM PUBLIC;

-- Migrations, replicated through tidal's log (record kind 7).  A migration
-- only moves forward: each region keeps the furthest step it has learned.
CREATE TABLE tidal.migration_defs (
    id           bigint PRIMARY KEY,
    tenant       bigint NOT NULL,
    from_regions int[],
    to_region    int NOT NULL,
    to_shard     int NOT NULL,
    step         int NOT NULL,
    cutover      jsonb,
    updated_at   tidal.hlc NOT NULL
);
CREATE INDEX ON tidal.migration_defs (tenant, id);
REVOKE ALL ON tidal.migration_defs FROM PUBLIC;

-- Keys of idempotent writes belong to the writing tenant: one tenant's key
-- never swallows another's write.
ALTER TABLE tidal.idempotency_keys ADD COLUMN tenant bigint NOT NULL DEFAULT 0,
    DROP CONSTRAINT idempotency_keys_pkey, ADD PRIMARY KEY (tenant, key);

CREATE FUNCTION tidal._migration_step_name(step int) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN (ARRAY['begun', 'preparing', 'prepared', 'dual_write', 'finalizing',
                  'finalized', 'done'])[step];

CREATE FUNCTION tidal._tenant_usage()
    RETURNS TABLE (tenant_id bigint, stored_here boolean, entities bigint, storage_bytes bigint)
    AS 'MODULE_PATHNAME', 'tidal_tenant_usage'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;

CREATE VIEW tidal.tenants AS
    SELECT t.tenant_id, t.label, t.max_signals_per_sec, t.max_entities, t.max_storage_bytes,
           t.required_regions, t.shard,
           coalesce(u.stored_here, false) AS stored_here,
           coalesce(u.entities, 0) AS entities,
           coalesce(u.storage_bytes, 0) AS storage_bytes,
           m.id AS migration_id,
           tidal._migration_step_name(m.step) AS migration_state,
           CASE WHEN m.step = 6 THEN m.to_region  -- finalized; once done, the regions say it
                ELSE coalesce(t.required_regions[1], current_setting('tidal.region_id')::int)
           END AS home_region,
           t.defined_at
      FROM tidal.tenant_defs t
      LEFT JOIN tidal._tenant_usage() u USING (tenant_id)
      LEFT JOIN LATERAL (SELECT * FROM tidal.migration_defs d
                          WHERE d.tenant = t.tenant_id ORDER BY d.id DESC LIMIT 1) m ON true;
COMMENT ON VIEW tidal.tenants IS
    'registered tenants: quotas, regions, whether this region stores them, their usage here, and where to send their reads';
GRANT SELECT ON tidal.tenants TO PUBLIC;

CREATE VIEW tidal.migrations AS
    SELECT id, tenant, from_regions, to_region, to_shard,
           tidal._migration_step_name(step) AS state, cutover, updated_at
      FROM tidal.migration_defs;
COMMENT ON VIEW tidal.migrations IS 'tenant migrations and the furthest step this region has learned of';
GRANT SELECT ON tidal.migrations TO PUBLIC;

CREATE FUNCTION tidal.register_tenant(tenant_id bigint, label text,
                                      max_signals_per_sec int DEFAULT NULL,
                                      max_entities bigint DEFAULT NULL,
                                      max_storage_bytes bigint DEFAULT NULL,
                                      required_regions int[] DEFAULT NULL)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_register_tenant'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.register_tenant(bigint, text, int, bigint, bigint, int[]) IS
    'register a tenant, or change its quotas and regions (leader only)';

CREATE FUNCTION tidal.begin_tenant_migration(tenant bigint, to_region int, to_shard int DEFAULT 0)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'tidal_begin_tenant_migration'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
CREATE FUNCTION tidal.migration_prepare_target(id bigint) RETURNS text
    AS 'MODULE_PATHNAME', 'tidal_migration_prepare_target'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
CREATE FUNCTION tidal.migration_enter_dual_write(id bigint) RETURNS text
    AS 'MODULE_PATHNAME', 'tidal_migration_enter_dual_write'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
CREATE FUNCTION tidal.migration_finalize(id bigint) RETURNS text
    AS 'MODULE_PATHNAME', 'tidal_migration_finalize'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
CREATE FUNCTION tidal.migration_gc_source(id bigint) RETURNS text
    AS 'MODULE_PATHNAME', 'tidal_migration_gc_source'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.begin_tenant_migration(bigint, int, int) IS
    'start moving a tenant to another region (leader only); returns the migration id';
COMMENT ON FUNCTION tidal.migration_prepare_target(bigint) IS
    'step 1: the target region loads all of the tenant''s data; returns the migration''s state';
COMMENT ON FUNCTION tidal.migration_enter_dual_write(bigint) IS
    'step 2 (once prepared): writes reach the source and the target; returns the state';
COMMENT ON FUNCTION tidal.migration_finalize(bigint) IS
    'step 3: once the target has everything up to the cut-over, reads and writes switch to it; returns the state';
COMMENT ON FUNCTION tidal.migration_gc_source(bigint) IS
    'step 4 (once finalized): the source regions delete their copy of the tenant; returns the state';
REVOKE ALL ON FUNCTION tidal.register_tenant(bigint, text, int, bigint, bigint, int[]),
                       tidal.begin_tenant_migration(bigint, int, int),
                       tidal.migration_prepare_target(bigint), tidal.migration_enter_dual_write(bigint),
                       tidal.migration_finalize(bigint), tidal.migration_gc_source(bigint)
    FROM PUBLIC;

-- The calls that read and write a tenant's data.

CREATE FUNCTION tidal.signal(name text, entity bigint, weight float8 DEFAULT 1,
                             at timestamptz DEFAULT now(), user_id bigint DEFAULT NULL,
                             idempotency_key text DEFAULT NULL, tenant bigint DEFAULT 0)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_signal'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.signal(text, bigint, float8, timestamptz, bigint, text, bigint) IS
    'record one signal event; counts once the transaction commits, and once per idempotency key';

CREATE FUNCTION tidal.signal_batch(name text, entities bigint[],
                                   weights float8[] DEFAULT NULL,
                                   ats timestamptz[] DEFAULT NULL,
                                   tenant bigint DEFAULT 0)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'tidal_signal_batch'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.signal_batch(text, bigint[], float8[], timestamptz[], bigint) IS
    'record many events of one signal; NULL weights mean 1, NULL ats mean now()';

CREATE FUNCTION tidal.decay_score(entity bigint, name text, at timestamptz DEFAULT now(),
                                  tenant bigint DEFAULT 0)
    RETURNS float8
    AS 'MODULE_PATHNAME', 'tidal_decay_score'
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.decay_score(bigint, text, timestamptz, bigint) IS
    'sum of the entity''s event weights, each halved every half-life since it happened';

CREATE FUNCTION tidal.window_count(entity bigint, name text, win interval,
                                   at timestamptz DEFAULT now(), tenant bigint DEFAULT 0)
    RETURNS float8
    AS 'MODULE_PATHNAME', 'tidal_window_count'
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.window_count(bigint, text, interval, timestamptz, bigint) IS
    'sum of the entity''s event weights in one of the signal''s windows ending at at';

CREATE FUNCTION tidal.upsert_item(item bigint, creator bigint DEFAULT NULL,
                                  metadata jsonb DEFAULT '{}',
                                  created_at timestamptz DEFAULT now(),
                                  tenant bigint DEFAULT 0)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_upsert_item'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.upsert_item(bigint, bigint, jsonb, timestamptz, bigint) IS
    'create or replace an item (last writer wins by HLC); returns the write''s HLC';

CREATE FUNCTION tidal.retrieve(for_user bigint DEFAULT NULL,
                               candidates bigint[] DEFAULT NULL,
                               profile text DEFAULT 'popular',
                               filter jsonb DEFAULT NULL,
                               max_per_creator int DEFAULT NULL,
                               lim int DEFAULT 20,
                               at timestamptz DEFAULT now(),
                               tenant bigint DEFAULT 0)
    RETURNS TABLE (item_id bigint, score float8, rank int)
    AS 'MODULE_PATHNAME', 'tidal_retrieve'
    LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 20;
COMMENT ON FUNCTION tidal.retrieve(bigint, bigint[], text, jsonb, int, int, timestamptz, bigint) IS
    'rank candidate items (NULL: every item) for a user with a profile; hidden items never come back';
-- Hard negatives per tenant (0.4): the hide calls and tidal.is_hidden take
-- the tenant whose item (or creator) it is, like the other tenant-scoped
-- calls.  A user's hides in one tenant never hide another tenant's items.

CREATE FUNCTION tidal.hide_item(user_id bigint, item_id bigint, at tidal.hlc DEFAULT NULL,
                                tenant bigint DEFAULT 0)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_hide_item'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.hide_item(bigint, bigint, tidal.hlc, bigint) IS
    'the user never sees the item in tidal.retrieve again, unless a later unhide_item';

CREATE FUNCTION tidal.unhide_item(user_id bigint, item_id bigint, at tidal.hlc DEFAULT NULL,
                                  tenant bigint DEFAULT 0)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_unhide_item'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.unhide_item(bigint, bigint, tidal.hlc, bigint) IS
    'undo every hide of the item by the user with an earlier HLC';

CREATE FUNCTION tidal.block_creator(user_id bigint, creator_id bigint, at tidal.hlc DEFAULT NULL,
                                    tenant bigint DEFAULT 0)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_block_creator'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.block_creator(bigint, bigint, tidal.hlc, bigint) IS
    'the user never sees items of the creator in tidal.retrieve, unless a later unblock_creator';

CREATE FUNCTION tidal.unblock_creator(user_id bigint, creator_id bigint, at tidal.hlc DEFAULT NULL,
                                      tenant bigint DEFAULT 0)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_unblock_creator'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.unblock_creator(bigint, bigint, tidal.hlc, bigint) IS
    'undo every block of the creator by the user with an earlier HLC';

CREATE FUNCTION tidal.is_hidden(user_id bigint, item_id bigint, tenant bigint DEFAULT 0)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'tidal_is_hidden'
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.is_hidden(bigint, bigint, bigint) IS
    'whether tidal.retrieve drops the item for the user (hidden, or its creator blocked)';
-- ---------------------------------------------------------------------------
-- Internal: forget any hot state left by an earlier copy of the extension
-- in this database, so that it is rebuilt from the (new, empty) log.
-- ---------------------------------------------------------------------------
CREATE FUNCTION tidal._reset_state() RETURNS void
    AS 'MODULE_PATHNAME', 'tidal_reset_state_sql'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION tidal._reset_state() FROM PUBLIC;
SELECT tidal._reset_state();
