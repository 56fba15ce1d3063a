-- tidal 0.6 -> 0.7: shards in a region. Peers of other shards, the shard
-- map replicated from the cluster leader, writes and reads of entities owned
-- by another shard, and the topology of a cluster.
-- This upgrade script is assembled from this header and the sql/tidal/97_*.sql
-- parts (see UPGRADE_0_7 in the Makefile): each part holds statements that are
-- right both after a fresh install of the earlier parts and on a 0.6 database,
-- so an upgraded database and a fresh install run the same statements.

\echo Use "ALTER EXTENSION tidal UPDATE TO '0.7'" to load this file. \quit
