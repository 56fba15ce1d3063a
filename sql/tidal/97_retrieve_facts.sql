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

CREATE FUNCTION tidal.item_facts_stats(OUT items bigint, OUT capacity bigint,
                                       OUT metadata_bytes int, OUT complete boolean)
    AS 'MODULE_PATHNAME', 'tidal_item_facts_stats'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.item_facts_stats() IS
    'items of this database whose facts shared memory holds for tidal.retrieve, its capacity (tidal.max_items, all databases), tidal.item_metadata_bytes, and whether it holds them all (else retrieve reads tidal.item_data)';
