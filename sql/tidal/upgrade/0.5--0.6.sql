-- tidal 0.5 -> 0.6: the log over months. Snapshots of the hot state, log
-- compaction, state transfer, residency of raw events, cheaper sealing.
-- This upgrade script is assembled from this header and the sql/tidal/96_*.sql
-- parts (see UPGRADE_0_6 in the Makefile): each part holds statements that are
-- right both after a fresh install of the earlier parts and on a 0.5 database,
-- so an upgraded database and a fresh install run the same statements.

\echo Use "ALTER EXTENSION tidal UPDATE TO '0.6'" to load this file. \quit
