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
