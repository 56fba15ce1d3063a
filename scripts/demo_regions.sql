-- tidal demo, part 2: three regions. A like written in region 1 reaches
-- regions 0 and 2, and every region ends up with the same scores and the same
-- ranking.
-- Run by scripts/demo.sh after scripts/demo.sql, connected to region 0, with
-- the psql variables port0, port1 and port2 set to the three servers' ports
-- (same host, database postgres); it moves between them with \connect.
-- Safe to run again: each run records one more like of item 42 in region 1.
\set ON_ERROR_STOP on

\echo '== 10. Three regions, each a peer of the other two =='
\echo '   each server runs one receiver per peer, which pulls the batches of tidal''s log'
\echo '   it lacks; region 0 sees its peers:'
SELECT region, state, health FROM tidal.replication_status ORDER BY region;
\echo '   tidal.await_convergence(): what region 0 wrote above has reached regions 1 and 2'
\echo '   (a fresh cluster first starts its receivers: up to 30 s)'
SELECT tidal.await_convergence('30s') AS converged;

\echo '== 11. A write in region 1: a like of item 42 =='
\echo '   its HLC ends with node 2, region 1''s tidal.node_id'
\connect postgres - - :port1
SELECT current_setting('tidal.region_id') AS region, tidal.signal('like', 42) AS hlc;
\echo '   tidal.await_convergence() in region 1 waits until the sealer has sealed the write and'
\echo '   every peer it reaches has applied it'
SELECT tidal.await_convergence() AS converged;
SELECT clock_timestamp() AS at \gset

\echo '== 12. The same state in every region =='
\echo '   item 42''s decayed like score, the last event of region 1 applied, and the popular'
\echo '   feed (item:score), read as of the same instant in each region; region 1''s likes'
\echo '   lift item 42 above items 1 and 3'
\connect postgres - - :port0
SELECT round(tidal.decay_score(42, 'like', :'at')::numeric, 6) AS score0,
       tidal.applied_seqno(1) AS applied0,
       (SELECT string_agg(item_id || ':' || round(score::numeric, 4), '  ' ORDER BY rank)
          FROM tidal.retrieve(profile => 'popular', at => :'at')) AS feed0 \gset
\connect postgres - - :port1
SELECT round(tidal.decay_score(42, 'like', :'at')::numeric, 6) AS score1,
       tidal.applied_seqno(1) AS applied1,
       (SELECT string_agg(item_id || ':' || round(score::numeric, 4), '  ' ORDER BY rank)
          FROM tidal.retrieve(profile => 'popular', at => :'at')) AS feed1 \gset
\connect postgres - - :port2
SELECT round(tidal.decay_score(42, 'like', :'at')::numeric, 6) AS score2,
       tidal.applied_seqno(1) AS applied2,
       (SELECT string_agg(item_id || ':' || round(score::numeric, 4), '  ' ORDER BY rank)
          FROM tidal.retrieve(profile => 'popular', at => :'at')) AS feed2 \gset
SELECT *
  FROM (VALUES (0, :score0, :applied0, :'feed0'),
               (1, :score1, :applied1, :'feed1'),
               (2, :score2, :applied2, :'feed2'))
       AS t (region, item42_like_score, applied_seqno_1, popular_feed);

\echo '== 13. tidal.replication_status, as each region sees its peers =='
\echo '   batches_sent: pulled from this region by the peer; batches_acknowledged: of this'
\echo '   region''s own batches, how many the peer has applied; batches_applied: the peer''s own'
\echo '   batches applied here; lag_seqno: events not yet exchanged either way'
\connect postgres - - :port0
\echo '   in region 0:'
SELECT region, state, batches_sent, batches_acknowledged, batches_applied, lag_seqno, lag_ms,
       round(extract(epoch FROM clock_timestamp() - last_contact) * 1000) AS contact_ms_ago, health
  FROM tidal.replication_status ORDER BY region;
\connect postgres - - :port1
\echo '   in region 1:'
SELECT region, state, batches_sent, batches_acknowledged, batches_applied, lag_seqno, lag_ms,
       round(extract(epoch FROM clock_timestamp() - last_contact) * 1000) AS contact_ms_ago, health
  FROM tidal.replication_status ORDER BY region;
\connect postgres - - :port2
\echo '   in region 2:'
SELECT region, state, batches_sent, batches_acknowledged, batches_applied, lag_seqno, lag_ms,
       round(extract(epoch FROM clock_timestamp() - last_contact) * 1000) AS contact_ms_ago, health
  FROM tidal.replication_status ORDER BY region;
