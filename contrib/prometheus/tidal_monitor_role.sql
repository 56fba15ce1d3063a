-- The least a role needs to run contrib/prometheus/tidal_queries.yaml.
-- Run it as tidal's owner, in the database tidal runs in:
--
--   psql -X -v ON_ERROR_STOP=1 -d postgres -f tidal_monitor_role.sql
--
-- then let the exporter log in as tidal_monitor (peer or scram in
-- pg_hba.conf). tidal grants all of this to PUBLIC when it is installed; the
-- grants below are what the role still needs where an administrator has
-- revoked them from PUBLIC. The role can read tidal's status views and
-- nothing else: no table, no write, no definition, no peer call.
-- (prometheus-postgres-exporter's own pg_* metrics want pg_monitor too:
-- GRANT pg_monitor TO tidal_monitor, or run it with --disable-default-metrics
-- --disable-settings-metrics.)

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'tidal_monitor') THEN
        CREATE ROLE tidal_monitor LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
END
$$;

DO $$
BEGIN
    EXECUTE pg_catalog.format('GRANT CONNECT ON DATABASE %I TO tidal_monitor', pg_catalog.current_database());
END
$$;

GRANT USAGE ON SCHEMA tidal TO tidal_monitor;

-- the views the queries read
GRANT SELECT ON tidal.replication_status, tidal.log_status, tidal.snapshots,
                tidal.tenants, tidal.cluster, tidal.sessions
   TO tidal_monitor;

-- the functions those views call (a view runs its functions with the
-- privileges of the role that reads it), and tidal.state_stats()
GRANT EXECUTE ON FUNCTION tidal.state_stats(),
                          tidal.local_seqno(),
                          tidal._peer_status(),
                          tidal._peer_errors(),
                          tidal._election_status(),
                          tidal._tenant_usage(),
                          tidal._migration_step_name(int)
   TO tidal_monitor;
