-- ---------------------------------------------------------------------------
-- Ranking and feedback export (since 0.2).
-- ---------------------------------------------------------------------------

CREATE FUNCTION tidal.retrieve(for_user bigint DEFAULT NULL,
                               candidates bigint[] DEFAULT NULL,
                               profile text DEFAULT 'popular',
                               filter jsonb DEFAULT NULL,
                               max_per_creator int DEFAULT NULL,
                               lim int DEFAULT 20,
                               at timestamptz DEFAULT now())
    RETURNS TABLE (item_id bigint, score float8, rank int)
    AS 'MODULE_PATHNAME', 'tidal_retrieve'
    LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 20;
COMMENT ON FUNCTION tidal.retrieve(bigint, bigint[], text, jsonb, int, int, timestamptz) IS
    'rank candidate items (NULL: every item) for a user with a profile; hidden items never come back';

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
