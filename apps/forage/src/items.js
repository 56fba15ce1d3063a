// Items: what the discovery agent brings in. forage.items maps each url to
// Forage's item id (idempotent by url); the item itself -- metadata
// {url,title,summary,source,topic,...} and its embedding -- lives in tidal
// (tidal.upsert_item), where the topic is the item's arm.
import { inTransaction } from './db.js';
import { itemText } from './embedder.js';
import { APP_MARKER } from './model.js';

// Store or update an item; returns { item_id, created, embedded }.
export async function upsertItem(pool, embedder, input) {
  const topic = input.topic.trim().toLowerCase();
  const source = input.source.trim().toLowerCase();
  const metadata = {
    ...APP_MARKER,
    url: input.url,
    title: input.title.trim(),
    summary: input.summary.trim(),
    source,
    topic,
  };
  if (Array.isArray(input.tags) && input.tags.length) metadata.tags = input.tags;
  if (input.content_type) metadata.content_type = input.content_type;
  const embedding = embedder ? embedder.embed(itemText(metadata)) : null;

  return inTransaction(pool, async (client) => {
    const { rows } = await client.query(
      `INSERT INTO forage.items AS i (url) VALUES ($1::text)
       ON CONFLICT (url) DO UPDATE SET updated_at = pg_catalog.now()
       RETURNING i.id, i.created_at, (i.xmax = 0) AS created`,
      [input.url]);
    const { id, created_at: createdAt, created } = rows[0];
    await client.query(
      `SELECT tidal.upsert_item(item => $1::bigint, metadata => $2::jsonb,
                                created_at => $3::timestamptz, embedding => $4::real[])`,
      [id, JSON.stringify(metadata), createdAt, embedding]);
    return { item_id: id, created, embedded: embedding !== null };
  });
}

export async function itemExists(db, itemId) {
  const { rows } = await db.query('SELECT 1 FROM tidal.items WHERE item_id = $1::bigint', [itemId]);
  return rows.length > 0;
}

export async function countItems(db) {
  const { rows } = await db.query('SELECT count(*)::int AS n FROM forage.items');
  return rows[0].n;
}
