-- tidal 0.7 -> 0.8: sessions that roam between regions. A write may carry
-- its session and seqno; every node applies a session's writes in seqno
-- order, once, and keeps its mark.
-- This upgrade script is assembled from this header and the sql/tidal/98_*.sql
-- parts (see UPGRADE_0_8 in the Makefile): each part holds statements that are
-- right both after a fresh install of the earlier parts and on a 0.7 database,
-- so an upgraded database and a fresh install run the same statements.

\echo Use "ALTER EXTENSION tidal UPDATE TO '0.8'" to load this file. \quit
