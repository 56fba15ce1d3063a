-- What a peer's election calls accept.  A hostile or corrupt peer cannot
-- overflow the election term (term + 1 at the next election) or name a
-- region that cannot exist: such calls are refused before anything changes.
SELECT * FROM tidal._heartbeat(9223372036854775807, 1);
SELECT * FROM tidal._request_vote(4611686018427387905, 1, 0);
SELECT * FROM tidal._heartbeat(-1, 1);
SELECT * FROM tidal._heartbeat(1, -1);
SELECT * FROM tidal._request_vote(1, 70000, 0);
-- nothing of them was kept
SELECT current_term < 1000 AS term_untouched FROM tidal.raft_state;
