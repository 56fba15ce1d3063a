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
