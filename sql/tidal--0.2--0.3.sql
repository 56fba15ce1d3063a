-- tidal 0.2 -> 0.3: tenants (registry, quotas, regions), tenant migration,
-- and the tenant argument of the write and read calls.
-- This upgrade script is assembled from this header and the sql/tidal/ parts
-- new in 0.3 (see UPGRADE_0_3 in the Makefile), so that an upgraded database
-- and a fresh install run the same statements.

\echo Use "ALTER EXTENSION tidal UPDATE TO '0.3'" to load this file. \quit

-- the calls that take a tenant since 0.3, in their 0.2 form
DROP FUNCTION tidal.signal(text, bigint, float8, timestamptz, bigint, text);
DROP FUNCTION tidal.signal_batch(text, bigint[], float8[], timestamptz[]);
DROP FUNCTION tidal.decay_score(bigint, text, timestamptz);
DROP FUNCTION tidal.window_count(bigint, text, interval, timestamptz);
DROP FUNCTION tidal.upsert_item(bigint, bigint, jsonb, timestamptz);
DROP FUNCTION tidal.retrieve(bigint, bigint[], text, jsonb, int, int, timestamptz);
-- ---------------------------------------------------------------------------
-- Tenants (since 0.3): the registry, quotas and regions of each tenant, the
-- migration of a tenant to another region, and the tenant argument of the
-- write and read calls.  Tenant 0 is the default tenant: stored in every
-- region, without quotas, and needs no registration.
-- ---------------------------------------------------------------------------

-- The registry, replicated through tidal's log (record kind 6; the latest
-- registration by HLC wins).  NULL quotas are unlimited; NULL regions: all.
CREATE TABLE tidal.tenant_defs (
    tenant_id           bigint PRIMARY KEY CHECK (tenant_id > 0),
    label               text NOT NULL,
    max_signals_per_sec int CHECK (max_signals_per_sec > 0),
    max_entities        bigint CHECK (max_entities > 0),
    max_storage_bytes   bigint CHECK (max_storage_bytes > 0),
    required_regions    int[],
    shard               int NOT NULL DEFAULT 0,
    defined_at          tidal.hlc NOT NULL
);
REVOKE ALL ON tidal.tenant_defs FROM PUBLIC;

-- Migrations, replicated through tidal's log (record kind 7).  A migration
-- only moves forward: each region keeps the furthest step it has learned.
CREATE TABLE tidal.migration_defs (
    id           bigint PRIMARY KEY,
    tenant       bigint NOT NULL,
    from_regions int[],
    to_region    int NOT NULL,
    to_shard     int NOT NULL,
    step         int NOT NULL,
    cutover      jsonb,
    updated_at   tidal.hlc NOT NULL
);
CREATE INDEX ON tidal.migration_defs (tenant, id);
REVOKE ALL ON tidal.migration_defs FROM PUBLIC;

-- Keys of idempotent writes belong to the writing tenant: one tenant's key
-- never swallows another's write.
ALTER TABLE tidal.idempotency_keys ADD COLUMN tenant bigint NOT NULL DEFAULT 0,
    DROP CONSTRAINT idempotency_keys_pkey, ADD PRIMARY KEY (tenant, key);

CREATE FUNCTION tidal._migration_step_name(step int) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN (ARRAY['begun', 'preparing', 'prepared', 'dual_write', 'finalizing',
                  'finalized', 'done'])[step];

CREATE FUNCTION tidal._tenant_usage()
    RETURNS TABLE (tenant_id bigint, stored_here boolean, entities bigint, storage_bytes bigint)
    AS 'MODULE_PATHNAME', 'tidal_tenant_usage'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;

CREATE VIEW tidal.tenants AS
    SELECT t.tenant_id, t.label, t.max_signals_per_sec, t.max_entities, t.max_storage_bytes,
           t.required_regions, t.shard,
           coalesce(u.stored_here, false) AS stored_here,
           coalesce(u.entities, 0) AS entities,
           coalesce(u.storage_bytes, 0) AS storage_bytes,
           m.id AS migration_id,
           tidal._migration_step_name(m.step) AS migration_state,
           CASE WHEN m.step = 6 THEN m.to_region  -- finalized; once done, the regions say it
                ELSE coalesce(t.required_regions[1], current_setting('tidal.region_id')::int)
           END AS home_region,
           t.defined_at
      FROM tidal.tenant_defs t
      LEFT JOIN tidal._tenant_usage() u USING (tenant_id)
      LEFT JOIN LATERAL (SELECT * FROM tidal.migration_defs d
                          WHERE d.tenant = t.tenant_id ORDER BY d.id DESC LIMIT 1) m ON true;
COMMENT ON VIEW tidal.tenants IS
    'registered tenants: quotas, regions, whether this region stores them, their usage here, and where to send their reads';
GRANT SELECT ON tidal.tenants TO PUBLIC;

CREATE VIEW tidal.migrations AS
    SELECT id, tenant, from_regions, to_region, to_shard,
           tidal._migration_step_name(step) AS state, cutover, updated_at
      FROM tidal.migration_defs;
COMMENT ON VIEW tidal.migrations IS 'tenant migrations and the furthest step this region has learned of';
GRANT SELECT ON tidal.migrations TO PUBLIC;

CREATE FUNCTION tidal.register_tenant(tenant_id bigint, label text,
                                      max_signals_per_sec int DEFAULT NULL,
                                      max_entities bigint DEFAULT NULL,
                                      max_storage_bytes bigint DEFAULT NULL,
                                      required_regions int[] DEFAULT NULL)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_register_tenant'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.register_tenant(bigint, text, int, bigint, bigint, int[]) IS
    'register a tenant, or change its quotas and regions (leader only)';

CREATE FUNCTION tidal.begin_tenant_migration(tenant bigint, to_region int, to_shard int DEFAULT 0)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'tidal_begin_tenant_migration'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
CREATE FUNCTION tidal.migration_prepare_target(id bigint) RETURNS text
    AS 'MODULE_PATHNAME', 'tidal_migration_prepare_target'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
CREATE FUNCTION tidal.migration_enter_dual_write(id bigint) RETURNS text
    AS 'MODULE_PATHNAME', 'tidal_migration_enter_dual_write'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
CREATE FUNCTION tidal.migration_finalize(id bigint) RETURNS text
    AS 'MODULE_PATHNAME', 'tidal_migration_finalize'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
CREATE FUNCTION tidal.migration_gc_source(id bigint) RETURNS text
    AS 'MODULE_PATHNAME', 'tidal_migration_gc_source'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.begin_tenant_migration(bigint, int, int) IS
    'start moving a tenant to another region (leader only); returns the migration id';
COMMENT ON FUNCTION tidal.migration_prepare_target(bigint) IS
    'step 1: the target region loads all of the tenant''s data; returns the migration''s state';
COMMENT ON FUNCTION tidal.migration_enter_dual_write(bigint) IS
    'step 2 (once prepared): writes reach the source and the target; returns the state';
COMMENT ON FUNCTION tidal.migration_finalize(bigint) IS
    'step 3: once the target has everything up to the cut-over, reads and writes switch to it; returns the state';
COMMENT ON FUNCTION tidal.migration_gc_source(bigint) IS
    'step 4 (once finalized): the source regions delete their copy of the tenant; returns the state';
REVOKE ALL ON FUNCTION tidal.register_tenant(bigint, text, int, bigint, bigint, int[]),
                       tidal.begin_tenant_migration(bigint, int, int),
                       tidal.migration_prepare_target(bigint), tidal.migration_enter_dual_write(bigint),
                       tidal.migration_finalize(bigint), tidal.migration_gc_source(bigint)
    FROM PUBLIC;

-- The calls that read and write a tenant's data.

CREATE FUNCTION tidal.signal(name text, entity bigint, weight float8 DEFAULT 1,
                             at timestamptz DEFAULT now(), user_id bigint DEFAULT NULL,
                             idempotency_key text DEFAULT NULL, tenant bigint DEFAULT 0)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_signal'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.signal(text, bigint, float8, timestamptz, bigint, text, bigint) IS
    'record one signal event; counts once the transaction commits, and once per idempotency key';

CREATE FUNCTION tidal.signal_batch(name text, entities bigint[],
                                   weights float8[] DEFAULT NULL,
                                   ats timestamptz[] DEFAULT NULL,
                                   tenant bigint DEFAULT 0)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'tidal_signal_batch'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.signal_batch(text, bigint[], float8[], timestamptz[], bigint) IS
    'record many events of one signal; NULL weights mean 1, NULL ats mean now()';

CREATE FUNCTION tidal.decay_score(entity bigint, name text, at timestamptz DEFAULT now(),
                                  tenant bigint DEFAULT 0)
    RETURNS float8
    AS 'MODULE_PATHNAME', 'tidal_decay_score'
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.decay_score(bigint, text, timestamptz, bigint) IS
    'sum of the entity''s event weights, each halved every half-life since it happened';

CREATE FUNCTION tidal.window_count(entity bigint, name text, win interval,
                                   at timestamptz DEFAULT now(), tenant bigint DEFAULT 0)
    RETURNS float8
    AS 'MODULE_PATHNAME', 'tidal_window_count'
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.window_count(bigint, text, interval, timestamptz, bigint) IS
    'sum of the entity''s event weights in one of the signal''s windows ending at at';

CREATE FUNCTION tidal.upsert_item(item bigint, creator bigint DEFAULT NULL,
                                  metadata jsonb DEFAULT '{}',
                                  created_at timestamptz DEFAULT now(),
                                  tenant bigint DEFAULT 0)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_upsert_item'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.upsert_item(bigint, bigint, jsonb, timestamptz, bigint) IS
    'create or replace an item (last writer wins by HLC); returns the write''s HLC';

CREATE FUNCTION tidal.retrieve(for_user bigint DEFAULT NULL,
                               candidates bigint[] DEFAULT NULL,
                               profile text DEFAULT 'popular',
                               filter jsonb DEFAULT NULL,
                               max_per_creator int DEFAULT NULL,
                               lim int DEFAULT 20,
                               at timestamptz DEFAULT now(),
                               tenant bigint DEFAULT 0)
    RETURNS TABLE (item_id bigint, score float8, rank int)
    AS 'MODULE_PATHNAME', 'tidal_retrieve'
    LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 20;
COMMENT ON FUNCTION tidal.retrieve(bigint, bigint[], text, jsonb, int, int, timestamptz, bigint) IS
    'rank candidate items (NULL: every item) for a user with a profile; hidden items never come back';
