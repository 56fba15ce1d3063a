-- ---------------------------------------------------------------------------
-- 0.6: residency of raw events (docs/reference.md, "Placement").  A tenant's
-- records are shipped only to the regions that store it; the others hold an
-- elided record (kind 8, docs/log-format.md) in their place.
-- ---------------------------------------------------------------------------

-- Called by a peer that starts storing a tenant, over libpq: the batches it
-- names, with that tenant's records.  Grant EXECUTE to the role peers
-- connect as, as for tidal._ship.
CREATE FUNCTION tidal._ship_tenant(requester int, requester_shard int, tenant bigint,
                                   regions int[], shards int[], batch_nos bigint[])
    RETURNS TABLE (origin_region int, origin_shard int, batch_no bigint, batch bytea)
    AS 'MODULE_PATHNAME', 'tidal_ship_tenant'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION tidal._ship_tenant(int, int, bigint, int[], int[], bigint[]) FROM PUBLIC;

-- The records of one sealed batch (sealed) or one pending record.
CREATE FUNCTION tidal._log_records(data bytea, sealed boolean)
    RETURNS TABLE (record int, kind int, tenant bigint, events bigint, elided boolean)
    AS 'MODULE_PATHNAME', 'tidal_log_records_of'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION tidal._log_records(bytea, boolean) FROM PUBLIC;

-- Every record this node's log holds, sealed (segment_id set) or pending
-- (segment_id NULL): its kind, tenant, events, and whether this copy leaves
-- it out (elided).  The extension owner's only: it shows every tenant.
CREATE FUNCTION tidal.log_records()
    RETURNS TABLE (segment_id text, origin_region int, origin_shard int, batch_no bigint,
                   record int, kind int, tenant bigint, events bigint, elided boolean)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT pg_catalog.format('%s:%s:%s', b.origin_region, b.origin_shard, b.first_seq),
           b.origin_region, b.origin_shard, b.batch_no, r.record, r.kind, r.tenant, r.events, r.elided
      FROM tidal.batches b, tidal._log_records(b.batch, true) r
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, r.record, r.kind, r.tenant, r.events, r.elided
      FROM tidal.pending p, tidal._log_records(p.record, false) r
    $$;
REVOKE ALL ON FUNCTION tidal.log_records() FROM PUBLIC;
