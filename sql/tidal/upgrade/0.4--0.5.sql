-- tidal 0.4 -> 0.5: trust. Owner-only configuration, tenant access grants,
-- HLC operators found without tidal on the search_path, tables kept by pg_dump.
-- This upgrade script is assembled from this header and the sql/tidal/95_*.sql
-- parts (see UPGRADE_0_5 in the Makefile): each part holds statements that are
-- right both after a fresh install of the earlier parts and on a 0.4 database,
-- so an upgraded database and a fresh install run the same statements.

\echo Use "ALTER EXTENSION tidal UPDATE TO '0.5'" to load this file. \quit
