-- tidal: decaying signals, ranking and multi-region CRDT replication.
-- This install script is assembled from sql/tidal/*.sql in name order.

\echo Use "CREATE EXTENSION tidal" to load this file. \quit
