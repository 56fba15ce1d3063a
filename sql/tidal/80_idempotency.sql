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

-- 0.1 had tidal.signal without the key
DROP FUNCTION IF EXISTS tidal.signal(text, bigint, float8, timestamptz, bigint);

CREATE FUNCTION tidal.signal(name text, entity bigint, weight float8 DEFAULT 1,
                             at timestamptz DEFAULT now(), user_id bigint DEFAULT NULL,
                             idempotency_key text DEFAULT NULL)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_signal'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.signal(text, bigint, float8, timestamptz, bigint, text) IS
    'record one signal event; counts once the transaction commits, and once per idempotency key';
