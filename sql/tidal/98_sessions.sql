-- ---------------------------------------------------------------------------
-- 0.8: sessions that roam between regions (issue 15).
--
-- An agent numbers the writes of its session 1, 2, 3, ... and may send them
-- through any region. Every node applies a session's writes in seqno order,
-- each once: per (tenant, session) it keeps the mark up to which every write
-- was applied, holds a write that comes after a gap, and applies it once the
-- gap fills (src/cluster/session.h). The marks and held writes are written
-- in the transaction that applies the write, so they are as durable as the
-- log.
-- ---------------------------------------------------------------------------

CREATE TABLE tidal.session_marks (
    tenant        bigint NOT NULL,
    session       text NOT NULL,
    applied_seqno bigint NOT NULL DEFAULT 0,   -- every write up to it is applied here
    held          int NOT NULL DEFAULT 0,      -- its writes in tidal.session_held
    prev_seqno    bigint NOT NULL DEFAULT 0,   -- the mark before the last write arrived
    updated_at    timestamptz NOT NULL DEFAULT now(),  -- the session's last write seen here
    PRIMARY KEY (tenant, session)
);

-- Writes that wait for an earlier seqno of their session, as logged.
CREATE TABLE tidal.session_held (
    tenant      bigint NOT NULL,
    session     text NOT NULL,
    seqno       bigint NOT NULL,
    hlc_wall_ns bigint NOT NULL,
    hlc_logical int NOT NULL,
    hlc_node    int NOT NULL,
    record      bytea NOT NULL,
    held_at     timestamptz NOT NULL DEFAULT now(),
    reported    boolean NOT NULL DEFAULT false,  -- its gap was reported (tidal.session_gap_timeout)
    PRIMARY KEY (tenant, session, seqno, hlc_wall_ns, hlc_logical, hlc_node)
);
REVOKE ALL ON tidal.session_marks, tidal.session_held FROM PUBLIC;

-- The writes take a session and its seqno.
DROP FUNCTION tidal.signal(text, bigint, float8, timestamptz, bigint, text, bigint);
CREATE FUNCTION tidal.signal(name text, entity bigint, weight float8 DEFAULT 1,
                             at timestamptz DEFAULT now(), user_id bigint DEFAULT NULL,
                             idempotency_key text DEFAULT NULL, tenant bigint DEFAULT 0,
                             session text DEFAULT NULL, session_seqno bigint DEFAULT NULL)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_signal'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.signal(text, bigint, float8, timestamptz, bigint, text, bigint, text, bigint) IS
    'record one signal event; counts once the transaction commits, once per idempotency key, and in seqno order once per session seqno';

DROP FUNCTION tidal.hide_item(bigint, bigint, tidal.hlc, bigint);
DROP FUNCTION tidal.unhide_item(bigint, bigint, tidal.hlc, bigint);
DROP FUNCTION tidal.block_creator(bigint, bigint, tidal.hlc, bigint);
DROP FUNCTION tidal.unblock_creator(bigint, bigint, tidal.hlc, bigint);
CREATE FUNCTION tidal.hide_item(user_id bigint, item_id bigint, at tidal.hlc DEFAULT NULL,
                                tenant bigint DEFAULT 0,
                                session text DEFAULT NULL, session_seqno bigint DEFAULT NULL)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_hide_item'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.hide_item(bigint, bigint, tidal.hlc, bigint, text, bigint) IS
    'the user never sees the item in tidal.retrieve again, unless a later unhide_item';
CREATE FUNCTION tidal.unhide_item(user_id bigint, item_id bigint, at tidal.hlc DEFAULT NULL,
                                  tenant bigint DEFAULT 0,
                                  session text DEFAULT NULL, session_seqno bigint DEFAULT NULL)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_unhide_item'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.unhide_item(bigint, bigint, tidal.hlc, bigint, text, bigint) IS
    'undo every hide of the item by the user with an earlier HLC';
CREATE FUNCTION tidal.block_creator(user_id bigint, creator_id bigint, at tidal.hlc DEFAULT NULL,
                                    tenant bigint DEFAULT 0,
                                    session text DEFAULT NULL, session_seqno bigint DEFAULT NULL)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_block_creator'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.block_creator(bigint, bigint, tidal.hlc, bigint, text, bigint) IS
    'the user never sees items of the creator in tidal.retrieve, unless a later unblock_creator';
CREATE FUNCTION tidal.unblock_creator(user_id bigint, creator_id bigint, at tidal.hlc DEFAULT NULL,
                                      tenant bigint DEFAULT 0,
                                      session text DEFAULT NULL, session_seqno bigint DEFAULT NULL)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_unblock_creator'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.unblock_creator(bigint, bigint, tidal.hlc, bigint, text, bigint) IS
    'undo every block of the creator by the user with an earlier HLC';

-- An agent's view of its session, here.
CREATE FUNCTION tidal.session_status(session text, tenant bigint DEFAULT 0,
                                     OUT applied_seqno bigint, OUT held bigint,
                                     OUT first_held_seqno bigint, OUT waiting_since timestamptz,
                                     OUT last_write_at timestamptz)
    AS 'MODULE_PATHNAME', 'tidal_session_status'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.session_status(text, bigint) IS
    'the highest seqno up to which this node applied every write of the session, and the later writes it holds';

CREATE FUNCTION tidal.await_session(session text, seqno bigint, timeout interval DEFAULT '5s',
                                    tenant bigint DEFAULT 0)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'tidal_await_session'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.await_session(text, bigint, interval, bigint) IS
    'wait until every write of the session up to seqno is applied here and on the other shards of this region (an error after timeout); returns the seqno reached here';

-- A shard sibling's question, for its tidal.await_session: this node's mark
-- of a session, once it has the caller's own writes for it (as
-- tidal._read_owned waits for them). Grant EXECUTE to the role peers connect as, as for
-- tidal._read_owned.
CREATE FUNCTION tidal._session_mark(session text, tenant bigint, caller_region int, caller_shard int,
                                    after_seq bigint)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'tidal_session_mark'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION tidal._session_mark(text, bigint, int, int, bigint) FROM PUBLIC;

-- Every session this node knows, for the operator (every tenant's: not
-- granted to PUBLIC).
CREATE VIEW tidal.sessions AS
    SELECT m.tenant, m.session, m.applied_seqno,
           coalesce(h.held, 0) AS held,
           h.first_held_seqno,
           h.waiting_since,
           coalesce(h.waiting_since < now() - current_setting('tidal.session_gap_timeout')::interval,
                    false) AS gap_reported,
           m.updated_at AS last_write_at,
           m.updated_at + current_setting('tidal.session_ttl')::interval AS expires_at
      FROM tidal.session_marks m
      LEFT JOIN (SELECT tenant, session, count(*) AS held, min(seqno) AS first_held_seqno,
                        min(held_at) AS waiting_since
                   FROM tidal.session_held GROUP BY tenant, session) h USING (tenant, session);
COMMENT ON VIEW tidal.sessions IS
    'per session: the seqno up to which this node applied every write, the writes it holds after a gap, and since when';
REVOKE ALL ON tidal.sessions FROM PUBLIC;
