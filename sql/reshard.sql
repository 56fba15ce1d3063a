-- Moving a range of entities to another shard (tidal.move_shard_range), as
-- the leader sees it when it is also the range's old shard (region 0,
-- shard 0): it publishes the map and hands the range over at once.  In a
-- database of its own: it writes events and changes the map.
SELECT current_database() AS regress_db \gset
CREATE DATABASE tidal_reshard;
\c tidal_reshard
SET client_min_messages = warning;
CREATE EXTENSION tidal;
RESET client_min_messages;

-- only a 'ranges' map moves ranges
SELECT tidal.move_shard_range('[0,10)', 1);
SELECT tidal.set_shard_map('ranges', ranges => ARRAY['(,1000)', '[1000,)']::int8range[]) AS shards;

-- this node, shard 0, counts 5, 600 and 700; it logs 1500 for shard 1
SELECT tidal.define_signal('rs_view', '1 hour', windows => ARRAY['1 hour']::interval[]);
SELECT count(tidal.signal('rs_view', e, at => '2026-01-01 00:00+00')) AS written
  FROM (VALUES (5), (600), (600), (700), (1500)) v(e);
SELECT tidal.state_entries('(,)') AS entries, tidal.state_entries('[500,1000)') AS in_range;

-- bad moves: each refused, and the map stays
SELECT tidal.move_shard_range('empty', 1);
SELECT tidal.move_shard_range('[500,1500)', 1);
SELECT tidal.move_shard_range('[500,1000)', 0);
SELECT tidal.move_shard_range('[500,1000)', 3);
SELECT tidal.move_shard_range('[500,1000)', -1);
SELECT tidal.move_shard_range('(,1000)', 1);
SELECT tidal.move_shard_range(NULL, 1) IS NULL AS strict;
SELECT version, ranges, range_shards FROM tidal.shards;

-- a move to a new shard (2): the map splits the range out, and this node,
-- its old shard, hands its entries over in the same transaction
SELECT tidal.move_shard_range('[500,1000)', 2) AS version;
SELECT mode, shard_count, ranges, version, range_shards FROM tidal.shards;
SELECT tidal.shard_for(499), tidal.shard_for(500), tidal.shard_for(999), tidal.shard_for(1000);
SELECT version, entities, from_shard, to_shard, cut_at IS NOT NULL AS cut, received_at IS NOT NULL AS received
  FROM tidal.range_moves;
SELECT tidal.state_entries('(,)') AS entries, tidal.state_entries('[500,1000)') AS in_range;
SELECT tidal.decay_score(5, 'rs_view', '2026-01-01 00:00+00') AS kept;
-- the handoff is in the log (kind 10): one record of entries, then the last one
SELECT tidal.seal() >= 0 AS sealed;
SELECT kind, count(*) FROM tidal.log_records() WHERE kind IN (9, 10) GROUP BY kind ORDER BY kind;

-- each entity moves once; and the map cannot be set to route otherwise now
SELECT tidal.move_shard_range('[900,1100)', 1);
SELECT tidal.set_shard_map('ranges', ranges => ARRAY['(,1000)', '[1000,)']::int8range[]);
-- a second, disjoint move
SELECT tidal.move_shard_range('[100,200)', 1) AS version;
SELECT ranges, range_shards FROM tidal.shards;
SELECT count(*) AS moves, count(cut_at) AS cut FROM tidal.range_moves;

-- a signal record handed on within one region (flag 0x08) must also name its shard (0x04)
CREATE FUNCTION pg_temp.handed_on(flags text, tail text) RETURNS bytea
    LANGUAGE sql AS $$
    SELECT decode('01' || flags || '0000' || to_hex(31 + length(tail) / 2) || '000000'
                  || '0100000000000000' || '00000000' || '01000000' || '0000000000000000'
                  || '0100' || '76' || tail || '01000000'
                  || '0800000000000000' || '000000000000f03f' || '0000000000000000', 'hex') $$;
SELECT * FROM tidal._log_records(pg_temp.handed_on('0c', '0100' || '03000000'), false);
SELECT * FROM tidal._log_records(pg_temp.handed_on('08', '03000000'), false);

-- an ordinary role may read tidal.range_moves, but neither move a range nor count a range's entries
CREATE ROLE reshard_nobody;
SET ROLE reshard_nobody;
SELECT count(*) AS moves_seen FROM tidal.range_moves;
SELECT tidal.move_shard_range('[300,400)', 1);
SELECT tidal.state_entries('(,)');
RESET ROLE;
DROP ROLE reshard_nobody;

\c :regress_db
SET client_min_messages = warning;
DROP DATABASE tidal_reshard;
