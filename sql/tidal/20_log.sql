-- ---------------------------------------------------------------------------
-- tidal's own log (docs/log-format.md).
-- Reached only through tidal's functions, which run as the extension owner.
-- ---------------------------------------------------------------------------

-- Records of transactions that wrote tidal events, until the sealer moves
-- them into a batch.  No index: it is appended to and drained in bulk.
CREATE TABLE tidal.pending (
    record bytea NOT NULL
);
ALTER TABLE tidal.pending ALTER COLUMN record SET STORAGE EXTERNAL;

-- Sealed batches of every origin this node knows, gapless per origin.
CREATE TABLE tidal.batches (
    origin_region int NOT NULL,
    origin_shard  int NOT NULL,
    batch_no      bigint NOT NULL,
    first_seq     bigint NOT NULL,
    last_seq      bigint NOT NULL,
    event_count   int NOT NULL,
    origin_node   int NOT NULL,
    sealed_at     timestamptz NOT NULL DEFAULT now(),
    batch         bytea NOT NULL,
    PRIMARY KEY (origin_region, origin_shard, batch_no),
    UNIQUE (origin_region, origin_shard, first_seq),
    CHECK (last_seq - first_seq + 1 = event_count)
);
ALTER TABLE tidal.batches ALTER COLUMN batch SET STORAGE EXTERNAL;

-- Per origin: the last sequence and batch number sealed (local origin) or
-- applied (other origins).
CREATE TABLE tidal.origins (
    region     int NOT NULL,
    shard      int NOT NULL,
    last_seq   bigint NOT NULL DEFAULT 0,
    last_batch bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (region, shard)
);

REVOKE ALL ON tidal.pending, tidal.batches, tidal.origins FROM PUBLIC;

CREATE FUNCTION tidal.seal() RETURNS bigint
    AS 'MODULE_PATHNAME', 'tidal_seal'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.seal() IS
    'seal committed log records of this origin into batches now; returns the number of events sealed';

CREATE VIEW tidal.log_batches AS
    SELECT format('%s:%s:%s', origin_region, origin_shard, first_seq) AS segment_id,
           origin_region, origin_shard, origin_node, batch_no, first_seq, last_seq,
           event_count, octet_length(batch) AS bytes, sealed_at
      FROM tidal.batches;
COMMENT ON VIEW tidal.log_batches IS 'sealed batches of tidal''s log, one row per batch';

CREATE VIEW tidal.log_status AS
    SELECT o.region AS origin_region, o.shard AS origin_shard,
           o.last_seq, o.last_batch,
           (o.region = current_setting('tidal.region_id')::int
            AND o.shard = current_setting('tidal.shard_id')::int) AS is_local
      FROM tidal.origins o;
COMMENT ON VIEW tidal.log_status IS 'per origin: the last sequence and batch number in this node''s log';

GRANT SELECT ON tidal.log_batches, tidal.log_status TO PUBLIC;
