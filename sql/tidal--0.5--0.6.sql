-- tidal 0.5 -> 0.6: the log over months. Snapshots of the hot state, log
-- compaction, state transfer, residency of raw events, cheaper sealing.
-- This upgrade script is assembled from this header and the sql/tidal/96_*.sql
-- parts (see UPGRADE_0_6 in the Makefile): each part holds statements that are
-- right both after a fresh install of the earlier parts and on a 0.5 database,
-- so an upgraded database and a fresh install run the same statements.

\echo Use "ALTER EXTENSION tidal UPDATE TO '0.6'" to load this file. \quit
-- ---------------------------------------------------------------------------
-- 0.6: snapshots of the hot state and compaction of the log
-- (docs/operations.md, "Snapshots and compaction"; the chunk format is in
-- docs/log-format.md).
-- ---------------------------------------------------------------------------

-- One row per snapshot: what it covers of every origin (the last batch and
-- sequence number folded in), its newest HLC, and how many chunks it has.
CREATE TABLE tidal.snapshot_heads (
    snapshot_id   bigint PRIMARY KEY,
    taken_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    origin_region int[] NOT NULL,
    origin_shard  int[] NOT NULL,
    origin_batch  bigint[] NOT NULL,
    origin_seq    bigint[] NOT NULL,
    max_hlc       tidal.hlc NOT NULL,
    chunks        int NOT NULL,
    entries       bigint NOT NULL,
    bytes         bigint NOT NULL
);

-- Its content: chunks of one tenant each (a tenant's can be dropped alone).
CREATE TABLE tidal.snapshot_chunks (
    snapshot_id bigint NOT NULL REFERENCES tidal.snapshot_heads ON DELETE CASCADE,
    chunk_no    int NOT NULL,
    tenant      bigint NOT NULL,
    chunk       bytea NOT NULL,
    PRIMARY KEY (snapshot_id, chunk_no)
);
ALTER TABLE tidal.snapshot_chunks ALTER COLUMN chunk SET STORAGE EXTERNAL;
CREATE INDEX snapshot_chunks_tenant ON tidal.snapshot_chunks (tenant);
REVOKE ALL ON tidal.snapshot_heads, tidal.snapshot_chunks FROM PUBLIC;

-- Per origin: the last batch removed by compaction (0: none ever was).
ALTER TABLE tidal.origins ADD COLUMN compacted_batch bigint NOT NULL DEFAULT 0;

-- Kept by pg_dump: after compaction, the log alone no longer holds the state.
SELECT pg_catalog.pg_extension_config_dump('tidal.snapshot_heads', '');
SELECT pg_catalog.pg_extension_config_dump('tidal.snapshot_chunks', '');
CREATE TRIGGER data_changed BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON tidal.snapshot_heads
    FOR EACH STATEMENT EXECUTE FUNCTION tidal._data_changed();
CREATE TRIGGER data_changed BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON tidal.snapshot_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION tidal._data_changed();

CREATE FUNCTION tidal.snapshot() RETURNS bigint
    AS 'MODULE_PATHNAME', 'tidal_snapshot'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.snapshot() IS
    'take a snapshot of the hot state now (the newest one plus the batches after it); returns its id';
REVOKE ALL ON FUNCTION tidal.snapshot() FROM PUBLIC;

CREATE VIEW tidal.snapshots AS
    SELECT h.snapshot_id, h.taken_at, pg_catalog.now() OPERATOR(pg_catalog.-) h.taken_at AS age,
           h.entries, h.chunks, h.bytes, h.max_hlc,
           (SELECT pg_catalog.string_agg(pg_catalog.format('%s:%s:%s', m.r, m.s, m.b), ' ' ORDER BY m.r, m.s)
              FROM ROWS FROM (pg_catalog.unnest(h.origin_region), pg_catalog.unnest(h.origin_shard),
                             pg_catalog.unnest(h.origin_batch)) AS m(r, s, b)) AS covers
      FROM tidal.snapshot_heads h;
COMMENT ON VIEW tidal.snapshots IS
    'snapshots of the hot state; covers: region:shard:last batch folded in, per origin';
GRANT SELECT ON tidal.snapshots TO PUBLIC;

-- What each peer last said it has applied of each origin, and when it was
-- last heard (the compactor asks them; src/apply/compact.c).
CREATE TABLE tidal.peer_progress (
    peer_region   int NOT NULL,
    origin_region int NOT NULL,
    origin_shard  int NOT NULL,
    applied_batch bigint NOT NULL,
    heard_at      timestamptz NOT NULL,
    PRIMARY KEY (peer_region, origin_region, origin_shard)
);

-- The compactor's last decision per origin: up to which batch the log may
-- go, and what holds it there.
CREATE TABLE tidal.log_holds (
    origin_region int NOT NULL,
    origin_shard  int NOT NULL,
    compact_upto  bigint NOT NULL,
    held_by       text NOT NULL,
    decided_at    timestamptz NOT NULL,
    PRIMARY KEY (origin_region, origin_shard)
);
REVOKE ALL ON tidal.peer_progress, tidal.log_holds FROM PUBLIC;

-- tidal.log_status gains what the log holds and why (new columns at the end).
CREATE OR REPLACE VIEW tidal.log_status AS
    SELECT o.region AS origin_region, o.shard AS origin_shard,
           o.last_seq, o.last_batch,
           (o.region OPERATOR(pg_catalog.=) pg_catalog.current_setting('tidal.region_id')::int
            AND o.shard OPERATOR(pg_catalog.=) pg_catalog.current_setting('tidal.shard_id')::int) AS is_local,
           b.batches, b.bytes, b.oldest_batch, b.oldest_sealed_at,
           o.compacted_batch, h.held_by, h.decided_at AS held_checked_at
      FROM tidal.origins o
      LEFT JOIN LATERAL (SELECT pg_catalog.count(*) AS batches,
                                coalesce(pg_catalog.sum(pg_catalog.octet_length(x.batch)), 0)::bigint AS bytes,
                                pg_catalog.min(x.batch_no) AS oldest_batch,
                                pg_catalog.min(x.sealed_at) AS oldest_sealed_at
                           FROM tidal.batches x
                          WHERE x.origin_region OPERATOR(pg_catalog.=) o.region
                            AND x.origin_shard OPERATOR(pg_catalog.=) o.shard) b ON true
      LEFT JOIN tidal.log_holds h ON h.origin_region OPERATOR(pg_catalog.=) o.region
                                 AND h.origin_shard OPERATOR(pg_catalog.=) o.shard;
COMMENT ON VIEW tidal.log_status IS
    'per origin: the last sequence and batch number in this node''s log, what it holds (batches, bytes, the oldest) and what keeps compaction from going further';

CREATE FUNCTION tidal.compact() RETURNS bigint
    AS 'MODULE_PATHNAME', 'tidal_compact'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.compact() IS
    'remove the batches of tidal''s log that no snapshot, peer or the retention window needs; returns how many';
REVOKE ALL ON FUNCTION tidal.compact() FROM PUBLIC;

-- State transfer (docs/operations.md, "State transfer"): a peer's newest
-- snapshot, for a region that is new or too far behind for the log its
-- peers still hold.  _transfer is called by the receiving region over
-- libpq, as _ship is, and granted as _ship is.
CREATE FUNCTION tidal._transfer(requester int)
    RETURNS TABLE(part int, origin_region int, origin_shard int, batch_no bigint, last_seq bigint, data bytea)
    AS 'MODULE_PATHNAME', 'tidal_transfer_serve'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION tidal._transfer(int) FROM PUBLIC;

CREATE FUNCTION tidal.transfer_state(from_region int) RETURNS bigint
    AS 'MODULE_PATHNAME', 'tidal_transfer_state'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.transfer_state(int) IS
    'replace this region''s state by a peer''s newest snapshot and continue after it; returns the installed snapshot''s id';
REVOKE ALL ON FUNCTION tidal.transfer_state(int) FROM PUBLIC;
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
