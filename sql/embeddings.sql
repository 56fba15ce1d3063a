-- Item embeddings: tidal.upsert_item(..., embedding => real[]) keeps an
-- embedding of tidal.embedding_dimensions (4 in these tests) with the item,
-- as part of its last-writer-wins register; tidal.similarity compares two.
SET timezone = 'UTC';
SET client_min_messages = warning;
SHOW tidal.embedding_dimensions;

SELECT tidal.upsert_item(81001, 1, '{"topic": "hiking"}', '2026-01-01', embedding => '{1, 0, 0, 0}') IS NOT NULL AS ok;
SELECT tidal.upsert_item(81002, 1, '{"topic": "hiking"}', '2026-01-01', embedding => '{0.9, 0.1, 0, 0}') IS NOT NULL AS ok;
SELECT tidal.upsert_item(81003, 2, '{"topic": "baking"}', '2026-01-01', embedding => '{0, 0, 1, 0}') IS NOT NULL AS ok;
SELECT item_id, embedding FROM tidal.items WHERE item_id BETWEEN 81001 AND 81003 ORDER BY 1;

-- cosine similarity, computed in C
SELECT round(tidal.similarity(a.embedding, b.embedding)::numeric, 6) AS hiking_hiking,
       round(tidal.similarity(a.embedding, c.embedding)::numeric, 6) AS hiking_baking
  FROM tidal.items a, tidal.items b, tidal.items c
 WHERE a.item_id = 81001 AND b.item_id = 81002 AND c.item_id = 81003;
SELECT tidal.similarity('{1, 2, 3}', '{-1, -2, -3}') AS opposite,
       tidal.similarity('{0, 0}', '{1, 0}') IS NULL AS no_length_no_angle;

-- shared memory keeps each item's arm (the hash of its metadata's "topic",
-- else "source") and its embedding at unit length in steps of 1/127, for
-- ranking; a rebuild of shared memory from the table keeps the same
SELECT tidal.upsert_item(81005, 3, '{"source": "example.org"}', '2026-01-01', embedding => '{3, 4, 0, 0}') IS NOT NULL AS ok;
SELECT tidal.upsert_item(81006, 3, '{"lang": "en"}', '2026-01-01') IS NOT NULL AS ok;
CREATE TEMP TABLE vec_before AS
    SELECT i, v.arm, v.embedding FROM unnest('{81001, 81002, 81003, 81005, 81006}'::bigint[]) i,
                                      tidal._item_vector(i) v;
SELECT i, arm IS NOT NULL AS has_arm, embedding FROM vec_before ORDER BY i;
SELECT count(DISTINCT arm) AS two_topics_and_a_source FROM vec_before;
SELECT (SELECT arm FROM vec_before WHERE i = 81001) = (SELECT arm FROM vec_before WHERE i = 81002) AS same_topic_same_arm;
SELECT tidal._reset_state();
SELECT count(*) AS same_after_rebuild
  FROM vec_before b, tidal._item_vector(b.i) v
 WHERE v.arm IS NOT DISTINCT FROM b.arm AND v.embedding IS NOT DISTINCT FROM b.embedding;
SELECT count(*) AS unknown_item_no_row FROM tidal._item_vector(99999999);

-- the embedding is part of the item: a later upsert without one removes it
-- (t/046 replicates embeddings, and refuses another region's of another length)
SELECT tidal.upsert_item(81002, 1, '{"topic": "hiking"}', '2026-01-01') IS NOT NULL AS ok;
SELECT embedding IS NULL AS removed FROM tidal.items WHERE item_id = 81002;

-- bad embeddings: refused with the reason, nothing stored
SELECT tidal.upsert_item(81004, embedding => '{1, 2, 3}');
SELECT tidal.upsert_item(81004, embedding => '{1, 2, 3, 4, 5}');
SELECT tidal.upsert_item(81004, embedding => '{1, NULL, 3, 4}');
SELECT tidal.upsert_item(81004, embedding => '{1, NaN, 3, 4}');
SELECT tidal.upsert_item(81004, embedding => '{1, Infinity, 3, 4}');
SELECT tidal.upsert_item(81004, embedding => '{0, 0, 0, 0}');
SELECT tidal.upsert_item(81004, embedding => '{{1, 2}, {3, 4}}');
SELECT count(*) AS none_stored FROM tidal.items WHERE item_id = 81004;
SELECT tidal.similarity('{1, 2}', '{1, 2, 3}');
SELECT tidal.similarity('{1, NaN}', '{1, 2}');
SELECT tidal.similarity('{1, NULL}', '{1, 2}');
