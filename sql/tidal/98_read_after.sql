-- 0.8: a read may wait for a write. decay_score, window_count, velocity and
-- retrieve take after => <the tidal.hlc a write returned>: the read waits
-- (up to tidal.read_after_timeout) until that write is visible on the node
-- that answers, then reads; tidal.await_write waits for it alone. The reads
-- are no longer STRICT (after may be NULL): NULL in any other argument
-- still answers NULL.
DROP FUNCTION tidal.decay_score(bigint, text, timestamptz, bigint);
CREATE FUNCTION tidal.decay_score(entity bigint, name text, at timestamptz DEFAULT now(),
                                  tenant bigint DEFAULT 0, after tidal.hlc DEFAULT NULL)
    RETURNS float8
    AS 'MODULE_PATHNAME', 'tidal_decay_score'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.decay_score(bigint, text, timestamptz, bigint, tidal.hlc) IS
    'sum of the entity''s event weights, each halved every half-life since it happened; after: once that write is visible here';

DROP FUNCTION tidal.window_count(bigint, text, interval, timestamptz, bigint);
CREATE FUNCTION tidal.window_count(entity bigint, name text, win interval,
                                   at timestamptz DEFAULT now(), tenant bigint DEFAULT 0,
                                   after tidal.hlc DEFAULT NULL)
    RETURNS float8
    AS 'MODULE_PATHNAME', 'tidal_window_count'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.window_count(bigint, text, interval, timestamptz, bigint, tidal.hlc) IS
    'sum of the entity''s event weights in one of the signal''s windows ending at at; after: once that write is visible here';

DROP FUNCTION tidal.velocity(bigint, text, interval, timestamptz);
CREATE FUNCTION tidal.velocity(entity bigint, name text, win interval,
                               at timestamptz DEFAULT now(), after tidal.hlc DEFAULT NULL)
    RETURNS float8
    AS 'MODULE_PATHNAME', 'tidal_velocity'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.velocity(bigint, text, interval, timestamptz, tidal.hlc) IS
    'window_count per hour of the window; after: once that write is visible here';

-- 0.8 also adds explore and seed (interests and exploration, issue 16:
-- sql/tidal/98_interests.sql) and each row's label, arm and the interests
-- it is near.
DROP FUNCTION tidal.retrieve(bigint, bigint[], text, jsonb, int, int, timestamptz, bigint);
CREATE FUNCTION tidal.retrieve(for_user bigint DEFAULT NULL,
                               candidates bigint[] DEFAULT NULL,
                               profile text DEFAULT 'popular',
                               filter jsonb DEFAULT NULL,
                               max_per_creator int DEFAULT NULL,
                               lim int DEFAULT 20,
                               at timestamptz DEFAULT now(),
                               tenant bigint DEFAULT 0,
                               after tidal.hlc DEFAULT NULL,
                               explore int DEFAULT 0,
                               seed bigint DEFAULT NULL)
    RETURNS TABLE (item_id bigint, score float8, rank int, label text, arm text, near text[])
    AS 'MODULE_PATHNAME', 'tidal_retrieve'
    LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 20;
COMMENT ON FUNCTION tidal.retrieve(bigint, bigint[], text, jsonb, int, int, timestamptz, bigint, tidal.hlc, int, bigint) IS
    'rank candidate items (NULL: every item) for a user with a profile; hidden items never come back; after: once that write is visible on every shard asked; explore: rows chosen by Thompson sampling over the arms (seed: repeatable)';

CREATE FUNCTION tidal.await_write(write tidal.hlc, timeout interval DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'tidal_await_write'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.await_write(tidal.hlc, interval) IS
    'wait until the write that returned this HLC is visible on this node (NULL timeout: tidal.read_after_timeout); how long it waited, in ms';

-- A shard sibling's read with after => of an entity this shard owns waits
-- here first. Called by the role shard siblings connect as: grant it
-- EXECUTE, as on tidal._read_owned.
CREATE FUNCTION tidal._await_write(write tidal.hlc, timeout_ms int, after_region int, after_shard int,
                                   after_seq bigint)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'tidal_await_write_owned'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION tidal._await_write(tidal.hlc, int, int, int, bigint) FROM PUBLIC;
