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
