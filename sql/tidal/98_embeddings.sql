-- 0.8: items carry an embedding (Forage, issue 16). One embedding space per
-- cluster: tidal.embedding_dimensions (a postmaster setting, 0: none) is the
-- length of every embedding, on every node. The embedding is part of the
-- item's last-writer-wins register and rides on its record (flag 0x02).
ALTER TABLE tidal.item_data ADD COLUMN embedding real[];

CREATE OR REPLACE VIEW tidal.items AS
    SELECT item AS item_id, creator, metadata, created_at,
           tidal.hlc_to_timestamptz(updated_at) AS updated_at,
           embedding
      FROM tidal.item_data
     WHERE tenant = 0;
COMMENT ON VIEW tidal.items IS 'items known to tidal: creator, metadata, creation time, embedding';

DROP FUNCTION tidal.upsert_item(bigint, bigint, jsonb, timestamptz, bigint);
CREATE FUNCTION tidal.upsert_item(item bigint, creator bigint DEFAULT NULL,
                                  metadata jsonb DEFAULT '{}',
                                  created_at timestamptz DEFAULT now(),
                                  tenant bigint DEFAULT 0,
                                  embedding real[] DEFAULT NULL)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_upsert_item'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.upsert_item(bigint, bigint, jsonb, timestamptz, bigint, real[]) IS
    'create or replace an item (last writer wins by HLC), with its embedding (tidal.embedding_dimensions long); returns the write''s HLC';

CREATE FUNCTION tidal.similarity(a real[], b real[])
    RETURNS float8
    AS 'MODULE_PATHNAME', 'tidal_similarity'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION tidal.similarity(real[], real[]) IS
    'cosine similarity of two embeddings of the same length (NULL if either is all zeros)';

-- What shared memory holds of an item for ranking: its arm (what the
-- exploration of issue 16 explores: the hash of its metadata's "topic",
-- else its "source") and its embedding as kept there (unit length, int8
-- steps). Internal, for tests and operators; a tenant's items by the
-- tenant's access rules.
CREATE FUNCTION tidal._item_vector(item bigint, tenant bigint DEFAULT 0)
    RETURNS TABLE (arm bigint, embedding real[])
    AS 'MODULE_PATHNAME', 'tidal_item_vector'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal._item_vector(bigint, bigint) IS
    'an item''s arm and quantized unit embedding, as shared memory holds them for ranking';
