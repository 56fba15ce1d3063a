-- Tenants: the registry, isolation, quotas, placement, and one migration
-- carried out on a single region (which leads itself and is the target).
SET timezone = 'UTC';
\set VERBOSITY terse

SELECT tidal.define_signal('t_view', '1 day', ARRAY['1 day']::interval[]);

-- bad registrations
SELECT tidal.register_tenant(0, 'default', required_regions => '{0}');
SELECT tidal.register_tenant(-1, 'negative');
SELECT tidal.register_tenant(101, NULL);
SELECT tidal.register_tenant(101, '');
SELECT tidal.register_tenant(101, 'x', max_signals_per_sec => 0);
SELECT tidal.register_tenant(101, 'x', max_entities => -5);
SELECT tidal.register_tenant(101, 'x', required_regions => '{}');
SELECT tidal.register_tenant(101, 'x', required_regions => '{1,NULL}');
SELECT tidal.register_tenant(101, 'x', required_regions => '{70000}');

-- an unknown tenant is refused by writes and reads alike
SELECT tidal.signal('t_view', 1, tenant => 101);
SELECT tidal.decay_score(1, 't_view', tenant => 101);
SELECT tidal.signal('t_view', 1, tenant => NULL);

-- tenants never see each other's data
SELECT tidal.register_tenant(101, 'acme') IS NOT NULL AS registered;
SELECT tidal.register_tenant(102, 'globex') IS NOT NULL AS registered;
SELECT tidal.signal('t_view', 1, 1, '2026-01-01', tenant => 101) IS NOT NULL AS ok;
SELECT tidal.signal_batch('t_view', '{1,1,2}', NULL, '{2026-01-01,2026-01-01,2026-01-01}', tenant => 102);
SELECT tidal.decay_score(1, 't_view', '2026-01-01', tenant => 101) AS acme,
       tidal.decay_score(1, 't_view', '2026-01-01', tenant => 102) AS globex,
       tidal.decay_score(1, 't_view', '2026-01-01') AS default_tenant,
       tidal.window_count(1, 't_view', '1 day', '2026-01-01', tenant => 102) AS globex_window;
-- an idempotency key belongs to its tenant
SELECT tidal.signal('t_view', 3, 1, '2026-01-01', idempotency_key => 'k', tenant => 101)
     = tidal.signal('t_view', 3, 1, '2026-01-01', idempotency_key => 'k', tenant => 101) AS retry_is_noop;
SELECT tidal.signal('t_view', 3, 1, '2026-01-01', idempotency_key => 'k', tenant => 102) IS NOT NULL AS ok;
SELECT tidal.decay_score(3, 't_view', '2026-01-01', tenant => 101) AS acme_once,
       tidal.decay_score(3, 't_view', '2026-01-01', tenant => 102) AS globex_once;
SELECT tidal.upsert_item(7, 70, '{"tier": "gold"}', '2026-01-01', tenant => 101) IS NOT NULL AS ok;
SELECT count(*) AS default_tenant_items FROM tidal.items WHERE item_id = 7;
-- tidal.retrieve ranks one tenant's items with that tenant's scores
SELECT tidal.define_profile('t_rank', '{"terms": [{"signal": "t_view"}]}') IS NOT NULL AS defined;
SELECT tidal.upsert_item(1, 10, '{}', '2026-01-01', tenant => 102) IS NOT NULL AS ok;
SELECT tidal.upsert_item(2, 20, '{"tier": "gold"}', '2026-01-01', tenant => 102) IS NOT NULL AS ok;
SELECT 'acme' AS tenant, * FROM tidal.retrieve(profile => 't_rank', at => '2026-01-01', tenant => 101);
SELECT 'globex' AS tenant, * FROM tidal.retrieve(profile => 't_rank', at => '2026-01-01', tenant => 102);
SELECT 'default' AS tenant, * FROM tidal.retrieve(candidates => '{1,2,3}', profile => 't_rank', at => '2026-01-01');
SELECT * FROM tidal.retrieve(candidates => '{1,2,3}', profile => 't_rank', at => '2026-01-01', tenant => 102);
SELECT * FROM tidal.retrieve(filter => '{"tier": "gold"}', profile => 't_rank', at => '2026-01-01', tenant => 102);
-- a hide belongs to the default tenant's item, not to another tenant's item of the same id
SELECT tidal.hide_item(5, 1) IS NOT NULL AS hidden;
SELECT * FROM tidal.retrieve(5, '{1,2}', 't_rank', at => '2026-01-01', tenant => 102);
SELECT count(*) AS default_tenant_rows FROM tidal.retrieve(5, '{1,2}', 't_rank', at => '2026-01-01');
SELECT tidal.unhide_item(5, 1) IS NOT NULL AS unhidden;
-- a tenant's own hides and blocks (0.4): they hide the tenant's items only
SELECT tidal.hide_item(5, 1, tenant => 102) IS NOT NULL AS hidden;
SELECT tidal.is_hidden(5, 1, tenant => 102) AS globex_hidden, tidal.is_hidden(5, 1) AS default_hidden;
SELECT * FROM tidal.retrieve(5, '{1,2,3}', 't_rank', at => '2026-01-01', tenant => 102);
SELECT tidal.block_creator(5, 20, tenant => 102) IS NOT NULL AS blocked;
SELECT * FROM tidal.retrieve(5, '{1,2,3}', 't_rank', at => '2026-01-01', tenant => 102);
SELECT count(*) AS default_tenant_rows FROM tidal.retrieve(5, '{1,2,3}', 't_rank', at => '2026-01-01');
SELECT tidal.unhide_item(5, 1, tenant => 102) IS NOT NULL AS unhidden,
       tidal.unblock_creator(5, 20, tenant => 102) IS NOT NULL AS unblocked;
SELECT * FROM tidal.retrieve(5, '{1,2,3}', 't_rank', at => '2026-01-01', tenant => 102);
SELECT tidal.hide_item(5, 1, tenant => 999);
SELECT tidal.hide_item(5, 1, tenant => NULL);
SELECT tidal.is_hidden(5, 1, tenant => 999);
SELECT * FROM tidal.retrieve(tenant => 999);
SELECT * FROM tidal.retrieve(tenant => NULL);
SELECT tenant_id, label, stored_here, entities, storage_bytes > 0 AS has_storage, home_region
  FROM tidal.tenants WHERE tenant_id > 100 ORDER BY tenant_id;

-- quotas: 53400, naming the quota
SELECT tidal.register_tenant(103, 'metered', max_signals_per_sec => 5, max_entities => 3) IS NOT NULL AS ok;
\set VERBOSITY default
SELECT tidal.signal_batch('t_view', '{1,2,3,4,5,6}', tenant => 103);
SELECT pg_sleep(1.1);  -- a full bucket again
SELECT tidal.signal_batch('t_view', '{1,2,3,4}', tenant => 103);
\set VERBOSITY terse
SELECT pg_sleep(1.1);
SELECT tidal.signal_batch('t_view', '{1,2,3}', tenant => 103) AS within_quotas;
-- a new entity is refused, a known one is not
SELECT tidal.signal('t_view', 4, tenant => 103) IS NOT NULL AS new_entity;
SELECT tidal.signal('t_view', 3, tenant => 103) IS NOT NULL AS known_entity_ok;
SELECT entities FROM tidal.tenants WHERE tenant_id = 103;
-- a refused write leaves nothing behind
SELECT tidal.decay_score(4, 't_view', tenant => 103) AS refused_entity;
SELECT tidal.register_tenant(104, 'tiny', max_storage_bytes => 100) IS NOT NULL AS ok;
SELECT tidal.signal('t_view', 1, tenant => 104);
-- quotas can be raised
SELECT pg_sleep(0.5);
SELECT tidal.register_tenant(103, 'metered', max_signals_per_sec => 5, max_entities => 10) IS NOT NULL AS ok;
SELECT tidal.signal('t_view', 4, tenant => 103) IS NOT NULL AS now_ok;

-- a tenant stored in another region: writes are accepted and logged, not kept
SELECT tidal.register_tenant(105, 'elsewhere', required_regions => '{5}') IS NOT NULL AS ok;
SELECT tidal.seal() >= 0 AS sealed;
SELECT tidal.signal('t_view', 1, 1, '2026-01-01', tenant => 105) IS NOT NULL AS accepted;
SELECT tidal.signal('t_view', 1, 2, '2026-01-01', tenant => 105) IS NOT NULL AS accepted;
SELECT tidal.upsert_item(8, NULL, '{}', '2026-01-01', tenant => 105) IS NOT NULL AS accepted;
SELECT tidal.hide_item(5, 8, tenant => 105) IS NOT NULL AS accepted;
SELECT tidal.decay_score(1, 't_view', '2026-01-01', tenant => 105) AS not_kept_here;
SELECT count(*) AS hides_kept_here FROM tidal.hides WHERE tenant = 105;
SELECT count(*) AS logged FROM tidal.pending;
SELECT stored_here, home_region FROM tidal.tenants WHERE tenant_id = 105;

-- migrations: bad calls
SELECT tidal.begin_tenant_migration(999, 0);
SELECT tidal.begin_tenant_migration(101, 0);
SELECT tidal.begin_tenant_migration(105, 9);
SELECT tidal.begin_tenant_migration(105, 5);
SELECT tidal.migration_prepare_target(999);

-- move tenant 105 from region 5 to this region: the target loads the
-- tenant's writes from its own log, and the source's copy is let go
SELECT tidal.begin_tenant_migration(105, 0) AS id \gset
SELECT tidal.begin_tenant_migration(105, 0) = :id AS begin_is_idempotent;
SELECT tidal.migration_enter_dual_write(:id);
SELECT tidal.migration_finalize(:id);
SELECT tidal.migration_gc_source(:id);
SELECT tidal.migration_prepare_target(:id);
SELECT tidal.decay_score(1, 't_view', '2026-01-01', tenant => 105) AS loaded_from_the_log;
SELECT count(*) AS item_loaded FROM tidal.item_data WHERE tenant = 105;
SELECT tidal.is_hidden(5, 8, tenant => 105) AS hide_loaded;
SELECT tidal.migration_prepare_target(:id) AS again;
SELECT tidal.migration_enter_dual_write(:id);
SELECT tidal.signal('t_view', 1, 4, '2026-01-01', tenant => 105) IS NOT NULL AS dual_write;
SELECT tidal.migration_finalize(:id);
SELECT tidal.migration_gc_source(:id);
SELECT tidal.migration_gc_source(:id) AS again;
SELECT tenant, from_regions, to_region, to_shard, state, cutover IS NOT NULL AS has_cutover
  FROM tidal.migrations WHERE id = :id;
SELECT required_regions, stored_here, migration_state, home_region, entities
  FROM tidal.tenants WHERE tenant_id = 105;
SELECT tidal.decay_score(1, 't_view', '2026-01-01', tenant => 105) AS all_three_writes;
