-- tidal: decaying signals, ranking and multi-region CRDT replication.
-- This install script is assembled from sql/tidal/*.sql in name order.

\echo Use "CREATE EXTENSION tidal" to load this file. \quit

-- Everyday calls need no superuser; the tables stay private (see 20_log.sql).
GRANT USAGE ON SCHEMA tidal TO PUBLIC;
