-- ---------------------------------------------------------------------------
-- 0.8: an origin is a node (docs/design/followers.md).
--
-- A batch's origin was (region, shard): one writer per shard and region.
-- With followers, the nodes of one shard write in turn (the old leader until
-- it died, the new one after), and each numbers its own batches, so an
-- origin becomes (region, shard, node). Batches sealed before 0.8 (format
-- version 1) belong to node 0 of their region and shard, whatever node their
-- header names: their stored rows are set to node 0 here, and every mark of
-- an earlier version (snapshot heads, peer progress, holds) reads as node 0.
-- A node seals version-2 batches under its own tidal.node_id; a node whose
-- id is not 0 starts a new origin, whose sequence numbers continue after the
-- highest of its region and shard.
-- ---------------------------------------------------------------------------

ALTER TABLE tidal.origins ADD COLUMN node int NOT NULL DEFAULT 0;
ALTER TABLE tidal.origins DROP CONSTRAINT origins_pkey, ADD PRIMARY KEY (region, shard, node);

UPDATE tidal.batches SET origin_node = 0 WHERE origin_node OPERATOR(pg_catalog.<>) 0;
ALTER TABLE tidal.batches DROP CONSTRAINT batches_pkey,
    ADD PRIMARY KEY (origin_region, origin_shard, origin_node, batch_no);
ALTER TABLE tidal.batches DROP CONSTRAINT batches_origin_region_origin_shard_first_seq_key,
    ADD UNIQUE (origin_region, origin_shard, origin_node, first_seq);

ALTER TABLE tidal.peer_progress ADD COLUMN origin_node int NOT NULL DEFAULT 0;
ALTER TABLE tidal.peer_progress DROP CONSTRAINT peer_progress_pkey,
    ADD PRIMARY KEY (peer_region, peer_shard, origin_region, origin_shard, origin_node);

ALTER TABLE tidal.log_holds ADD COLUMN origin_node int NOT NULL DEFAULT 0;
ALTER TABLE tidal.log_holds DROP CONSTRAINT log_holds_pkey,
    ADD PRIMARY KEY (origin_region, origin_shard, origin_node);

-- NULL for a snapshot taken before 0.8: every origin it covers is node 0.
ALTER TABLE tidal.snapshot_heads ADD COLUMN origin_node int[];

-- A restored origin row replaces one without any mark (see 95_backup.sql).
CREATE OR REPLACE FUNCTION tidal._origin_replaces_empty() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    DELETE FROM tidal.origins o
     WHERE o.region OPERATOR(pg_catalog.=) NEW.region
       AND o.shard OPERATOR(pg_catalog.=) NEW.shard
       AND o.node OPERATOR(pg_catalog.=) NEW.node
       AND o.last_seq OPERATOR(pg_catalog.=) 0
       AND o.last_batch OPERATOR(pg_catalog.=) 0;
    RETURN NEW;
END $$;

-- segment_id: region:shard:first_seq for node 0, region:shard:node:first_seq
-- for the others (the nodes of one shard may number the same sequences).
CREATE OR REPLACE VIEW tidal.log_batches AS
    SELECT CASE WHEN origin_node OPERATOR(pg_catalog.=) 0
                THEN pg_catalog.format('%s:%s:%s', origin_region, origin_shard, first_seq)
                ELSE pg_catalog.format('%s:%s:%s:%s', origin_region, origin_shard, origin_node, first_seq) END
             AS segment_id,
           origin_region, origin_shard, origin_node, batch_no, first_seq, last_seq,
           event_count, pg_catalog.octet_length(batch) AS bytes, sealed_at
      FROM tidal.batches;

-- is_local: the origin this node writes; origin_node at the end.
CREATE OR REPLACE VIEW tidal.log_status AS
    SELECT o.region AS origin_region, o.shard AS origin_shard,
           o.last_seq, o.last_batch,
           (o.region OPERATOR(pg_catalog.=) pg_catalog.current_setting('tidal.region_id')::int
            AND o.shard OPERATOR(pg_catalog.=) pg_catalog.current_setting('tidal.shard_id')::int
            AND o.node OPERATOR(pg_catalog.=) pg_catalog.current_setting('tidal.node_id')::int) AS is_local,
           b.batches, b.bytes, b.oldest_batch, b.oldest_sealed_at,
           o.compacted_batch, h.held_by, h.decided_at AS held_checked_at,
           o.node AS origin_node
      FROM tidal.origins o
      LEFT JOIN LATERAL (SELECT pg_catalog.count(*) AS batches,
                                coalesce(pg_catalog.sum(pg_catalog.octet_length(x.batch)), 0)::bigint AS bytes,
                                pg_catalog.min(x.batch_no) AS oldest_batch,
                                pg_catalog.min(x.sealed_at) AS oldest_sealed_at
                           FROM tidal.batches x
                          WHERE x.origin_region OPERATOR(pg_catalog.=) o.region
                            AND x.origin_shard OPERATOR(pg_catalog.=) o.shard
                            AND x.origin_node OPERATOR(pg_catalog.=) o.node) b ON true
      LEFT JOIN tidal.log_holds h ON h.origin_region OPERATOR(pg_catalog.=) o.region
                                 AND h.origin_shard OPERATOR(pg_catalog.=) o.shard
                                 AND h.origin_node OPERATOR(pg_catalog.=) o.node;

-- covers: region:shard:batch per origin of node 0, region:shard:node:batch for the others.
CREATE OR REPLACE VIEW tidal.snapshots AS
    SELECT h.snapshot_id, h.taken_at, pg_catalog.now() OPERATOR(pg_catalog.-) h.taken_at AS age,
           h.entries, h.chunks, h.bytes, h.max_hlc,
           (SELECT pg_catalog.string_agg(
                     CASE WHEN coalesce(m.n, 0) OPERATOR(pg_catalog.=) 0
                          THEN pg_catalog.format('%s:%s:%s', m.r, m.s, m.b)
                          ELSE pg_catalog.format('%s:%s:%s:%s', m.r, m.s, m.n, m.b) END,
                     ' ' ORDER BY m.r, m.s, m.n)
              FROM ROWS FROM (pg_catalog.unnest(h.origin_region), pg_catalog.unnest(h.origin_shard),
                             pg_catalog.unnest(h.origin_batch), pg_catalog.unnest(h.origin_node))
                   AS m(r, s, b, n)) AS covers
      FROM tidal.snapshot_heads h;

-- The peer calls name origins by node: what the caller has of each
-- (nodes, beside regions and shards), and the node of every batch served.
-- requester_node: the calling node. Grant EXECUTE to the peer role again.
DROP FUNCTION tidal._ship(int, int, int[], int[], bigint[], bigint[], int);
CREATE FUNCTION tidal._ship(requester int, requester_shard int, requester_node int,
                            regions int[], shards int[], nodes int[],
                            batches bigint[], seqs bigint[], max_batches int)
    RETURNS TABLE (origin_region int, origin_shard int, origin_node int, batch_no bigint,
                   last_seq bigint, batch bytea)
    AS 'MODULE_PATHNAME', 'tidal_ship'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION tidal._ship(int, int, int, int[], int[], int[], bigint[], bigint[], int) FROM PUBLIC;

DROP FUNCTION tidal._ship_tenant(int, int, bigint, int[], int[], bigint[]);
CREATE FUNCTION tidal._ship_tenant(requester int, requester_shard int, tenant bigint,
                                   regions int[], shards int[], nodes int[], batch_nos bigint[])
    RETURNS TABLE (origin_region int, origin_shard int, origin_node int, batch_no bigint, batch bytea)
    AS 'MODULE_PATHNAME', 'tidal_ship_tenant'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION tidal._ship_tenant(int, int, bigint, int[], int[], int[], bigint[]) FROM PUBLIC;

DROP FUNCTION tidal._transfer(int);
CREATE FUNCTION tidal._transfer(requester int)
    RETURNS TABLE(part int, origin_region int, origin_shard int, batch_no bigint, last_seq bigint, data bytea,
                  origin_node int)
    AS 'MODULE_PATHNAME', 'tidal_transfer_serve'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION tidal._transfer(int) FROM PUBLIC;

DROP FUNCTION tidal.log_records();
CREATE FUNCTION tidal.log_records()
    RETURNS TABLE (segment_id text, origin_region int, origin_shard int, batch_no bigint,
                   record int, kind int, tenant bigint, events bigint, elided boolean,
                   origin_node int)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE WHEN b.origin_node OPERATOR(pg_catalog.=) 0
                THEN pg_catalog.format('%s:%s:%s', b.origin_region, b.origin_shard, b.first_seq)
                ELSE pg_catalog.format('%s:%s:%s:%s', b.origin_region, b.origin_shard, b.origin_node, b.first_seq) END,
           b.origin_region, b.origin_shard, b.batch_no, r.record, r.kind, r.tenant, r.events, r.elided,
           b.origin_node
      FROM tidal.batches b, tidal._log_records(b.batch, true) r
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, r.record, r.kind, r.tenant, r.events, r.elided, NULL
      FROM tidal.pending p, tidal._log_records(p.record, false) r
    $$;
REVOKE ALL ON FUNCTION tidal.log_records() FROM PUBLIC;
