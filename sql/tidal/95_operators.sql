-- ---------------------------------------------------------------------------
-- 0.5: the comparison operators of tidal.hlc, tidal.pncounter and tidal.lww
-- live in pg_catalog, where operator lookup always finds them: comparing two
-- HLC columns works whatever the search_path. They stay members of the
-- extension (DROP EXTENSION removes them); the operator classes, aggregates
-- and views that use them follow them, as they refer to them by OID.
-- tidal's own SQL names them OPERATOR(pg_catalog.<) and so on.
-- ---------------------------------------------------------------------------
ALTER OPERATOR tidal.<  (tidal.hlc, tidal.hlc) SET SCHEMA pg_catalog;
ALTER OPERATOR tidal.<= (tidal.hlc, tidal.hlc) SET SCHEMA pg_catalog;
ALTER OPERATOR tidal.=  (tidal.hlc, tidal.hlc) SET SCHEMA pg_catalog;
ALTER OPERATOR tidal.<> (tidal.hlc, tidal.hlc) SET SCHEMA pg_catalog;
ALTER OPERATOR tidal.>= (tidal.hlc, tidal.hlc) SET SCHEMA pg_catalog;
ALTER OPERATOR tidal.>  (tidal.hlc, tidal.hlc) SET SCHEMA pg_catalog;
ALTER OPERATOR tidal.=  (tidal.pncounter, tidal.pncounter) SET SCHEMA pg_catalog;
ALTER OPERATOR tidal.<> (tidal.pncounter, tidal.pncounter) SET SCHEMA pg_catalog;
ALTER OPERATOR tidal.=  (tidal.lww, tidal.lww) SET SCHEMA pg_catalog;
ALTER OPERATOR tidal.<> (tidal.lww, tidal.lww) SET SCHEMA pg_catalog;
