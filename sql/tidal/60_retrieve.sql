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
