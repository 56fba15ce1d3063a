
-- 0.8: users' interests and the bandit's counts (Forage, issue 16). A
-- user's event on an item with an arm (its metadata's "topic", else its
-- "source") adds to a decaying sum per (user, arm, signal): its mass, and
-- for a signal with a polarity the item's embedding. Kept in shared memory
-- (tidal.max_interests), rebuilt from the log and snapshots like scores.
CREATE FUNCTION tidal.interests(user_id bigint, tenant bigint DEFAULT 0, at timestamptz DEFAULT now())
    RETURNS TABLE (arm text, mass float8, share float8, centroid real[])
    AS 'MODULE_PATHNAME', 'tidal_interests'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 4;
COMMENT ON FUNCTION tidal.interests(bigint, bigint, timestamptz) IS
    'the user''s interests: the arms of most net positive decayed mass (at most tidal.interest_k), each with the unit direction of its reactions'' embeddings';

CREATE FUNCTION tidal.arms(user_id bigint, tenant bigint DEFAULT 0, at timestamptz DEFAULT now())
    RETURNS TABLE (arm text, successes float8, failures float8, trials float8, mean float8)
    AS 'MODULE_PATHNAME', 'tidal_arms'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 8;
COMMENT ON FUNCTION tidal.arms(bigint, bigint, timestamptz) IS
    'the exploration bandit''s decayed counts per arm for a user: successes (positive reactions), failures (negative ones and unanswered impressions), trials (neutral signals), and the mean of Beta(1 + successes, 1 + failures)';

CREATE FUNCTION tidal.interest_stats()
    RETURNS TABLE (entries bigint, capacity int, overflows bigint, arms int)
    AS 'MODULE_PATHNAME', 'tidal_interest_stats'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 1;
COMMENT ON FUNCTION tidal.interest_stats() IS
    'this database''s interest sums in shared memory, the table''s capacity (tidal.max_interests), events left out of interests because it was full since the server started, and the arms known';
