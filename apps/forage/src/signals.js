// Reactions: POST /signal's work. Checks the item exists, writes the signal to
// tidal (always with the user), hides a skipped (or saved, or shared) item for
// that user -- the feed is for finding new things -- and marks
// an exploring card that got a positive reaction as a hit (forage.impressions).
// All of it in one transaction: a failure stores nothing.
import { inTransaction } from './db.js';
import { notFound } from './errors.js';
import { itemExists } from './items.js';
import { HIDES, POSITIVE, signalWeight } from './model.js';

export async function recordSignal(pool, { user_id: userId, item_id: itemId, signal_type: type, duration_ms: durationMs }) {
  const weight = signalWeight(type, durationMs);
  return inTransaction(pool, async (client) => {
    if (!(await itemExists(client, itemId))) throw notFound(`item ${itemId} does not exist`);
    const { rows } = await client.query(
      `SELECT tidal.signal($1::text, $2::bigint, $3::float8, user_id => $4::bigint)::text AS hlc`,
      [type, itemId, weight, userId]);
    let hidden = false;
    if (HIDES.has(type)) {
      await client.query('SELECT tidal.hide_item($1::bigint, $2::bigint)', [userId, itemId]);
      hidden = true;
    }
    let hit = false;
    if (POSITIVE.has(type)) {
      const res = await client.query(
        `UPDATE forage.impressions SET hit = true
          WHERE user_id = $1::bigint AND item_id = $2::bigint AND label = 'exploring' AND NOT hit`,
        [userId, itemId]);
      hit = res.rowCount > 0;
    }
    return { ok: true, user_id: userId, item_id: itemId, signal_type: type, weight, hidden, exploration_hit: hit, hlc: rows[0].hlc };
  });
}
