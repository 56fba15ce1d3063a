-- ---------------------------------------------------------------------------
-- 0.7: tidal.retrieve reads the items' facts (creator, creation time, small
-- metadata) from shared memory, a copy of tidal.item_data that tidal's own
-- item writes keep in step at commit and every rebuild of the hot state
-- reloads (src/state/facts.c).  A write to tidal.item_data by any other way
-- (pg_restore's COPY, an operator's UPDATE or DELETE) marks the copy stale,
-- as a write to the log's tables does (95_backup.sql): the next use
-- rebuilds it from the table.  Right on a fresh install and on a 0.6
-- database alike: tidal._data_changed exists in both.
-- ---------------------------------------------------------------------------
CREATE TRIGGER data_changed BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON tidal.item_data
    FOR EACH STATEMENT EXECUTE FUNCTION tidal._data_changed();
