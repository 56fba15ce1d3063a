-- Frozen: the install script of tidal 0.1 exactly as it shipped (0.2 added sql/tidal--0.1--0.2.sql).
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

CREATE FUNCTION tidal.signal(name text, entity bigint, weight float8 DEFAULT 1,
                             at timestamptz DEFAULT now(), user_id bigint DEFAULT NULL)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_signal'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.signal(text, bigint, float8, timestamptz, bigint) IS
    'record one signal event; counts once the transaction commits';

CREATE FUNCTION tidal.signal_batch(name text, entities bigint[],
                                   weights float8[] DEFAULT NULL,
                                   ats timestamptz[] DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'tidal_signal_batch'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.signal_batch(text, bigint[], float8[], timestamptz[]) IS
    'record many events of one signal; NULL weights mean 1, NULL ats mean now()';

CREATE FUNCTION tidal.decay_score(entity bigint, name text, at timestamptz DEFAULT now())
    RETURNS float8
    AS 'MODULE_PATHNAME', 'tidal_decay_score'
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.decay_score(bigint, text, timestamptz) IS
    'sum of the entity''s event weights, each halved every half-life since it happened';

CREATE FUNCTION tidal.window_count(entity bigint, name text, win interval,
                                   at timestamptz DEFAULT now())
    RETURNS float8
    AS 'MODULE_PATHNAME', 'tidal_window_count'
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.window_count(bigint, text, interval, timestamptz) IS
    'sum of the entity''s event weights in one of the signal''s windows ending at at';

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
-- Internal: forget any hot state left by an earlier copy of the extension
-- in this database, so that it is rebuilt from the (new, empty) log.
-- ---------------------------------------------------------------------------
CREATE FUNCTION tidal._reset_state() RETURNS void
    AS 'MODULE_PATHNAME', 'tidal_reset_state_sql'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION tidal._reset_state() FROM PUBLIC;
SELECT tidal._reset_state();
