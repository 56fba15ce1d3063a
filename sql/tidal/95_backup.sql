-- ---------------------------------------------------------------------------
-- 0.5: pg_dump keeps everything tidal holds (docs/operations.md, "Backup
-- and restore").
--
-- Dumped (their rows are state): the log (pending records, sealed batches,
-- each origin's high-water marks), signal definitions and the sequence of
-- their ids, items, hides, profiles other than the built-in ones the install
-- script creates (a redefinition of a built-in is dumped, and replaces the
-- built-in row on restore), peers, the shard map, idempotency keys, tenants
-- and migrations.  Not dumped: tidal.raft_state, this node's Raft term and
-- vote, which belong to the node and not to the data (a restored node learns
-- the term from its peers).  The hot state is not a table: it is rebuilt from
-- the restored log on first use.
-- ---------------------------------------------------------------------------
SELECT pg_catalog.pg_extension_config_dump('tidal.pending', '');
SELECT pg_catalog.pg_extension_config_dump('tidal.batches', '');
SELECT pg_catalog.pg_extension_config_dump('tidal.origins', '');
SELECT pg_catalog.pg_extension_config_dump('tidal.signal_defs', '');
SELECT pg_catalog.pg_extension_config_dump('tidal.signal_defs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('tidal.item_data', '');
SELECT pg_catalog.pg_extension_config_dump('tidal.hides', '');
SELECT pg_catalog.pg_extension_config_dump('tidal.profile_defs',
    'WHERE defined_at OPERATOR(pg_catalog.<>) tidal.hlc(0, 0, 0)');
SELECT pg_catalog.pg_extension_config_dump('tidal.peer_defs', '');
SELECT pg_catalog.pg_extension_config_dump('tidal.shard_map', '');
SELECT pg_catalog.pg_extension_config_dump('tidal.idempotency_keys', '');
SELECT pg_catalog.pg_extension_config_dump('tidal.tenant_defs', '');
SELECT pg_catalog.pg_extension_config_dump('tidal.migration_defs', '');

-- A restored (or redefined) profile replaces the built-in row of its name,
-- which the install script created at the smallest HLC: restoring a dumped
-- redefinition of "popular" does not collide with the built-in.
CREATE FUNCTION tidal._profile_replaces_builtin() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    DELETE FROM tidal.profile_defs p
     WHERE p.name OPERATOR(pg_catalog.=) NEW.name
       AND p.defined_at OPERATOR(pg_catalog.=) tidal.hlc(0, 0, 0)
       AND NEW.defined_at OPERATOR(pg_catalog.<>) tidal.hlc(0, 0, 0);
    RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION tidal._profile_replaces_builtin() FROM PUBLIC;
CREATE TRIGGER profile_replaces_builtin BEFORE INSERT ON tidal.profile_defs
    FOR EACH ROW EXECUTE FUNCTION tidal._profile_replaces_builtin();

-- A restored origin row replaces one without any mark: a freshly created
-- node's sealer may have created its own origin's row, empty, before the
-- restore's COPY brings the dumped one.
CREATE FUNCTION tidal._origin_replaces_empty() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    DELETE FROM tidal.origins o
     WHERE o.region OPERATOR(pg_catalog.=) NEW.region
       AND o.shard OPERATOR(pg_catalog.=) NEW.shard
       AND o.last_seq OPERATOR(pg_catalog.=) 0
       AND o.last_batch OPERATOR(pg_catalog.=) 0;
    RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION tidal._origin_replaces_empty() FROM PUBLIC;
CREATE TRIGGER origin_replaces_empty BEFORE INSERT ON tidal.origins
    FOR EACH ROW EXECUTE FUNCTION tidal._origin_replaces_empty();

-- Rows written by anything but tidal's own calls (pg_restore's COPY, psql
-- running a plain dump) make the hot state and the cached definitions stale:
-- the next use rebuilds them from the tables (src/recovery.c).
CREATE FUNCTION tidal._data_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'tidal_data_changed'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION tidal._data_changed() FROM PUBLIC;
CREATE TRIGGER data_changed BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON tidal.pending
    FOR EACH STATEMENT EXECUTE FUNCTION tidal._data_changed();
CREATE TRIGGER data_changed BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON tidal.batches
    FOR EACH STATEMENT EXECUTE FUNCTION tidal._data_changed();
CREATE TRIGGER data_changed BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON tidal.signal_defs
    FOR EACH STATEMENT EXECUTE FUNCTION tidal._data_changed();
CREATE TRIGGER data_changed BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON tidal.tenant_defs
    FOR EACH STATEMENT EXECUTE FUNCTION tidal._data_changed();
CREATE TRIGGER data_changed BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON tidal.migration_defs
    FOR EACH STATEMENT EXECUTE FUNCTION tidal._data_changed();
