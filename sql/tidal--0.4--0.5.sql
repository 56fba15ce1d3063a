-- tidal 0.4 -> 0.5: trust. Owner-only configuration, tenant access grants,
-- HLC operators found without tidal on the search_path, tables kept by pg_dump.
-- This upgrade script is assembled from this header and the sql/tidal/95_*.sql
-- parts (see UPGRADE_0_5 in the Makefile): each part holds statements that are
-- right both after a fresh install of the earlier parts and on a 0.4 database,
-- so an upgraded database and a fresh install run the same statements.

\echo Use "ALTER EXTENSION tidal UPDATE TO '0.5'" to load this file. \quit
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
-- ---------------------------------------------------------------------------
-- 0.5: what a peer sent that this node refused (issue 11, finding 3).
-- A batch that fails validation, or whose HLC lies beyond
-- tidal.max_clock_offset, is held and pulled again later; a malformed answer
-- is dropped. tidal.replication_status shows it per peer, in three columns
-- appended to the view (CREATE OR REPLACE VIEW keeps the earlier ones).
-- ---------------------------------------------------------------------------
CREATE FUNCTION tidal._peer_errors()
    RETURNS TABLE (region_id int, quarantined boolean, last_error text, last_error_at timestamptz)
    AS 'MODULE_PATHNAME', 'tidal_peer_errors'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal._peer_errors() IS
    'per peer region: whether a batch of it is held, and why its last refused batch or answer was refused';
-- read by tidal.replication_status, which everyone may read (as tidal._peer_status)
GRANT EXECUTE ON FUNCTION tidal._peer_errors() TO PUBLIC;

CREATE OR REPLACE VIEW tidal.replication_status AS
    WITH local AS (SELECT tidal.local_seqno() AS seq),
    peer AS (
        SELECT d.region_id, s.state, s.batches_sent, s.acked_batch, s.acked_seq,
               s.last_contact,
               greatest((SELECT seq FROM local) - coalesce(s.acked_seq, 0), 0)
                 + coalesce(s.behind_seq, 0) AS lag_seqno,
               (SELECT min(b.sealed_at) FROM tidal.batches b
                 WHERE b.origin_region = current_setting('tidal.region_id')::int
                   AND b.origin_shard = current_setting('tidal.shard_id')::int
                   AND b.last_seq > coalesce(s.acked_seq, 0)) AS oldest_unacked
          FROM tidal.peer_defs d LEFT JOIN tidal._peer_status() s USING (region_id))
    SELECT region_id AS region,
           coalesce(state, 'disconnected') AS state,
           coalesce(batches_sent, 0) AS batches_sent,
           coalesce(acked_batch, 0) AS batches_acknowledged,
           (SELECT coalesce(sum(o.last_batch), 0)::bigint FROM tidal.origins o
             WHERE o.region = peer.region_id) AS batches_applied,
           lag_seqno,
           CASE WHEN lag_seqno = 0 OR oldest_unacked IS NULL THEN 0
                ELSE (extract(epoch FROM clock_timestamp() - oldest_unacked) * 1000)::bigint
           END AS lag_ms,
           last_contact,
           CASE WHEN last_contact IS NULL
                  OR clock_timestamp() - last_contact
                     > current_setting('tidal.offline_after')::interval THEN 'offline'
                WHEN clock_timestamp() - last_contact
                     > current_setting('tidal.peer_timeout')::interval
                  OR (lag_seqno > 0 AND clock_timestamp() - oldest_unacked
                      > current_setting('tidal.degraded_after')::interval) THEN 'degraded'
                ELSE 'healthy'
           END AS health,
           coalesce(e.quarantined, false) AS quarantined,
           e.last_error,
           e.last_error_at
      FROM peer LEFT JOIN tidal._peer_errors() e USING (region_id);
COMMENT ON VIEW tidal.replication_status IS
    'one row per peer region: connection, batches shipped each way, lag and health; quarantined: a batch of it is held (refused: invalid, or stamped beyond tidal.max_clock_offset), last_error says why';
-- Privileges (0.5): global configuration is the extension owner's unless
-- granted, tenants other than 0 are an access boundary, and every function
-- that runs as the owner pins search_path to pg_catalog, pg_temp.
-- Right both after the earlier files of a fresh install and on a 0.4 database.

-- Global configuration: the owner's, grantable with GRANT EXECUTE.
-- (add_peer, drop_peer, set_shard_map, register_tenant and the migration
-- steps were revoked from PUBLIC when they were created.)
REVOKE ALL ON FUNCTION tidal.define_signal(text, interval, interval[], text),
                       tidal.define_profile(text, jsonb)
    FROM PUBLIC;

-- Tenants as an access boundary (src/access.c).  Tenant 0 is open to every
-- role; any other tenant to the owner's roles and to the roles granted it.
CREATE TABLE tidal.tenant_grants (
    role       regrole NOT NULL,
    tenant     bigint NOT NULL CHECK (tenant > 0),
    granted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant, role)
);
REVOKE ALL ON tidal.tenant_grants FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('tidal.tenant_grants', '');

CREATE FUNCTION tidal.grant_tenant(role regrole, tenant bigint)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'tidal_grant_tenant'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.grant_tenant(regrole, bigint) IS
    'let the role (and every role with its privileges) read and write the tenant; false if it could already';
CREATE FUNCTION tidal.revoke_tenant(role regrole, tenant bigint)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'tidal_revoke_tenant'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.revoke_tenant(regrole, bigint) IS
    'undo tidal.grant_tenant; false if there was no such grant';
REVOKE ALL ON FUNCTION tidal.grant_tenant(regrole, bigint), tidal.revoke_tenant(regrole, bigint)
    FROM PUBLIC;

CREATE VIEW tidal.tenant_access AS
    SELECT g.tenant, g.role AS granted_to, g.granted_at
      FROM tidal.tenant_grants g
     WHERE pg_catalog.pg_has_role(g.role::pg_catalog.oid, 'USAGE');
COMMENT ON VIEW tidal.tenant_access IS
    'the tenants the current role may use through grants (tenant 0 is open to all), and the role granted each';
GRANT SELECT ON tidal.tenant_access TO PUBLIC;

-- Functions that run as the owner: search_path pinned, bodies qualified.
CREATE OR REPLACE FUNCTION tidal.local_seqno()
    RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        SELECT coalesce(pg_catalog.max(last_seq), 0) FROM tidal.origins
         WHERE region OPERATOR(pg_catalog.=) pg_catalog.current_setting('tidal.region_id')::pg_catalog.int4
           AND shard OPERATOR(pg_catalog.=) pg_catalog.current_setting('tidal.shard_id')::pg_catalog.int4
    $$;

CREATE OR REPLACE FUNCTION tidal.applied_seqno(origin_region int)
    RETURNS bigint
    LANGUAGE sql STABLE STRICT PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        SELECT coalesce(pg_catalog.max(last_seq), 0) FROM tidal.origins
         WHERE region OPERATOR(pg_catalog.=) origin_region
    $$;

-- Whether records committed by other transactions wait in tidal.pending for
-- the sealer.  The caller's own uncommitted records (xmin: its top-level
-- transaction id) are left out: they cannot be shipped before it commits.
-- Anyone may call it (tidal.await_convergence runs as its caller).
CREATE FUNCTION tidal._others_pending()
    RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        SELECT EXISTS (
            SELECT 1 FROM tidal.pending p
             WHERE p.xmin::pg_catalog.text::pg_catalog.int8 OPERATOR(pg_catalog.<>)
                   coalesce(pg_catalog.pg_current_xact_id_if_assigned()::pg_catalog.text::pg_catalog.int8
                            OPERATOR(pg_catalog.%) 4294967296, -1))
    $$;

-- Seals nothing itself where the sealer runs (tidal.database): a batch
-- sealed in the caller's transaction stays invisible to the peers until
-- that transaction ends, which is after this wait -- so it waits for the
-- sealer (its own transactions) instead.  In any other database no sealer
-- runs and no peer pulls: it seals there, as before 0.5.
CREATE OR REPLACE FUNCTION tidal.await_convergence(timeout interval DEFAULT '5s')
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
    AS $$
    DECLARE
        deadline pg_catalog.timestamptz := pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) timeout;
        sealer_runs pg_catalog.bool := pg_catalog.current_database() OPERATOR(pg_catalog.=)
                                       pg_catalog.current_setting('tidal.database');
    BEGIN
        IF NOT sealer_runs THEN
            PERFORM tidal.seal();
        END IF;
        LOOP
            -- committed records not sealed yet, or a reachable peer (heard
            -- from within tidal.peer_timeout) that lags
            IF NOT (sealer_runs AND tidal._others_pending())
               AND NOT EXISTS (SELECT 1 FROM tidal.replication_status
                                WHERE lag_seqno OPERATOR(pg_catalog.>) 0
                                  AND pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) last_contact
                                      OPERATOR(pg_catalog.<=)
                                      pg_catalog.current_setting('tidal.peer_timeout')::pg_catalog.interval) THEN
                RETURN true;
            END IF;
            IF pg_catalog.clock_timestamp() OPERATOR(pg_catalog.>=) deadline THEN
                RETURN false;
            END IF;
            PERFORM pg_catalog.pg_sleep(0.01);
        END LOOP;
    END $$;

CREATE OR REPLACE FUNCTION tidal.reconcile()
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
    DECLARE
        before pg_catalog.jsonb;
        after pg_catalog.jsonb;
        converged pg_catalog.bool;
    BEGIN
        SELECT coalesce(pg_catalog.jsonb_object_agg(region, seq), '{}') INTO before
          FROM (SELECT region, pg_catalog.max(last_seq) AS seq FROM tidal.origins GROUP BY region) o;
        PERFORM tidal._wake_receivers();
        converged := tidal.await_convergence(2 OPERATOR(pg_catalog.*)
                         pg_catalog.current_setting('tidal.peer_timeout')::pg_catalog.interval);
        SELECT coalesce(pg_catalog.jsonb_object_agg(region, seq), '{}') INTO after
          FROM (SELECT region, pg_catalog.max(last_seq) AS seq FROM tidal.origins GROUP BY region) o;
        RETURN pg_catalog.jsonb_build_object(
            'converged', converged,
            'received', (SELECT coalesce(pg_catalog.jsonb_object_agg(k,
                                    (after OPERATOR(pg_catalog.->>) k)::pg_catalog.int8
                                    OPERATOR(pg_catalog.-)
                                    coalesce((before OPERATOR(pg_catalog.->>) k)::pg_catalog.int8, 0)),
                                  '{}')
                           FROM pg_catalog.jsonb_object_keys(after) k
                          WHERE k::pg_catalog.int4 OPERATOR(pg_catalog.<>)
                                pg_catalog.current_setting('tidal.region_id')::pg_catalog.int4),
            'applied_seqno', after,
            'peers', (SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                 'region', region, 'state', state, 'health', health,
                                 'lag_seqno', lag_seqno) ORDER BY region), '[]')
                        FROM tidal.replication_status));
    END $$;
-- ---------------------------------------------------------------------------
-- 0.5: tenant 0 takes quotas like any other tenant.  A registration of
-- tenant 0 (tidal.register_tenant(0, label, ...)) is a row of the registry
-- that only sets its quotas: tenant 0 stays stored in every region, shard 0.
-- Without a max_entities quota, every tenant (tenant 0 included) holds at
-- most tidal.default_tenant_max_entities hot-state entries per region.
-- ---------------------------------------------------------------------------
ALTER TABLE tidal.tenant_defs DROP CONSTRAINT tenant_defs_tenant_id_check;
ALTER TABLE tidal.tenant_defs ADD CONSTRAINT tenant_defs_tenant_id_check
    CHECK (tenant_id > 0 OR (tenant_id = 0 AND required_regions IS NULL AND shard = 0));
