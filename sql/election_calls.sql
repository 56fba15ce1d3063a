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
-- the same for the pre-vote (0.8), which never changes anything
SELECT * FROM tidal._request_prevote(4611686018427387905, 1, 0);
SELECT * FROM tidal._request_prevote(1, -1, 0);
-- and for the calls of a shard's election (0.8): the shard, the term, the node
SELECT * FROM tidal._shard_request_vote(1024, 1, 1, 0);
SELECT * FROM tidal._shard_request_vote(0, 4611686018427387905, 1, 0);
SELECT * FROM tidal._shard_request_vote(0, 1, 70000, 0);
SELECT * FROM tidal._shard_request_prevote(-1, 1, 1, 0);
SELECT * FROM tidal._shard_heartbeat(0, -1, 1);
SELECT * FROM tidal._shard_heartbeat(0, 1, -1);
SELECT count(*) AS shard_terms_kept FROM tidal.shard_raft_state WHERE current_term > 1000;
-- a node without members leads its shard, whatever a caller says
SELECT * FROM tidal._shard_heartbeat(0, 5, 9);
SELECT role, leader_node = current_setting('tidal.node_id')::int AS leads_itself, members
  FROM tidal._shard_election_status();
SELECT node = current_setting('tidal.node_id')::int AS is_me, is_local, role FROM tidal.shard_nodes;
