-- ---------------------------------------------------------------------------
-- 0.8: Raft's pre-vote (src/cluster/election.c).
--
-- Before a node stands for election in a new term it asks whether a majority
-- would vote for it. A node that still hears a leader, or is one, says no and
-- changes nothing, so a member that missed a few heartbeats (a slow machine,
-- a brief cut) cannot depose a leader the others still follow.
-- ---------------------------------------------------------------------------

-- Called by peers' election workers over libpq; grant EXECUTE to the peer role.
CREATE FUNCTION tidal._request_prevote(term bigint, candidate int, progress bigint)
    RETURNS TABLE (term bigint, granted boolean)
    AS 'MODULE_PATHNAME', 'tidal_request_prevote'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION tidal._request_prevote(bigint, int, bigint) FROM PUBLIC;
