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
