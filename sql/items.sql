-- Items: tidal.upsert_item keeps one last-writer-wins register per item
-- (creator, metadata, creation time), written through tidal's log.
SET timezone = 'UTC';

SELECT tidal.hlc_node(tidal.upsert_item(1001, 7, '{"lang": "en", "tags": ["cats"]}', '2026-01-01')) AS node;
BEGIN;
SELECT tidal.upsert_item(1002) IS NOT NULL AS defaults_ok;
SELECT item_id, creator, metadata, created_at = now() AS created_now
  FROM tidal.items WHERE item_id BETWEEN 1001 AND 1099 ORDER BY item_id;
COMMIT;

-- a later write replaces the whole record, including created_at
SELECT tidal.upsert_item(1001, 8, '{"lang": "fr"}', '2026-02-01') IS NOT NULL AS replaced;
SELECT item_id, creator, metadata, created_at FROM tidal.items WHERE item_id = 1001;

-- last writer wins by HLC, not by arrival: each write's HLC is later than the one before
SELECT tidal.upsert_item(1003, 1, '{"v": 1}', '2026-01-01')
       < tidal.upsert_item(1003, 2, '{"v": 2}', '2026-01-01') AS later_hlc;
SELECT creator, metadata FROM tidal.items WHERE item_id = 1003;

-- every upsert is one record of tidal's log (no sealer runs in this database)
SELECT tidal.seal() >= 0 AS queue_emptied;
SELECT tidal.upsert_item(1006, 1, '{}', '2026-01-01') IS NOT NULL AS ok;
SELECT tidal.seal() AS records_sealed;

-- rolled back: no change
BEGIN;
SELECT tidal.upsert_item(1003, 99, '{"v": 99}') IS NOT NULL AS written;
SELECT creator FROM tidal.items WHERE item_id = 1003;
ROLLBACK;
SELECT creator, metadata FROM tidal.items WHERE item_id = 1003;

-- bad input
SELECT tidal.upsert_item(NULL);
SELECT tidal.upsert_item(1004, 1, NULL);
SELECT tidal.upsert_item(1004, 1, '[1, 2]');
SELECT tidal.upsert_item(1004, 1, '"text"');
SELECT tidal.upsert_item(1004, 1, '{}', NULL);
SELECT tidal.upsert_item(1004, 1, '{}', 'infinity');
SELECT tidal.upsert_item(1004, 1, '{bad json}');
SELECT tidal.upsert_item(1004, 1, jsonb_build_object('blob', repeat('x', 70000)));
SELECT count(*) AS item_1004_rows FROM tidal.items WHERE item_id = 1004;

-- everyday calls need no superuser; the table stays private, the view does not
CREATE ROLE items_app;
SET ROLE items_app;
SELECT tidal.upsert_item(1005, 3, '{"by": "app"}', '2026-01-01') IS NOT NULL AS app_wrote;
SELECT item_id, creator, metadata FROM tidal.items WHERE item_id = 1005;
SELECT count(*) FROM tidal.item_data;
RESET ROLE;
DROP ROLE items_app;
