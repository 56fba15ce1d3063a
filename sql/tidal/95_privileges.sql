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
