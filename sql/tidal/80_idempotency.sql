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
