-- tidal 0.3 -> 0.4: the hide calls and tidal.is_hidden take a tenant.
-- This upgrade script is assembled from this header and the sql/tidal/ parts
-- new in 0.4 (see UPGRADE_0_4 in the Makefile), so that an upgraded database
-- and a fresh install run the same statements.

\echo Use "ALTER EXTENSION tidal UPDATE TO '0.4'" to load this file. \quit

-- the calls that take a tenant since 0.4, in their 0.3 form
DROP FUNCTION tidal.hide_item(bigint, bigint, tidal.hlc);
DROP FUNCTION tidal.unhide_item(bigint, bigint, tidal.hlc);
DROP FUNCTION tidal.block_creator(bigint, bigint, tidal.hlc);
DROP FUNCTION tidal.unblock_creator(bigint, bigint, tidal.hlc);
DROP FUNCTION tidal.is_hidden(bigint, bigint);

