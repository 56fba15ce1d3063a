-- tidal 0.1 -> 0.2: items, hard negatives, ranking profiles, tidal.retrieve,
-- feedback export, regions (peers, replication status) and idempotency keys.
-- This upgrade script is assembled from this header and the sql/tidal/ parts
-- new in 0.2 (see UPGRADE_0_2 in the Makefile), so that an upgraded database
-- and a fresh install run the same statements.

\echo Use "ALTER EXTENSION tidal UPDATE TO '0.2'" to load this file. \quit
