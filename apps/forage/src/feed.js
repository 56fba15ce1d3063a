// The feed: tidal.retrieve with the 'forage' profile and about 2 of 7 slots
// explored by Thompson sampling (all but one while the user has no interest
// yet: a cold start is all exploration), the cards' texts from tidal.items metadata
// (same query), a 'why' per card, and one 'view' signal per served card (the
// bandit's trials) plus a row per card in forage.impressions (the panel's
// exploration hit rate) -- only for cards not shown in the last 30 minutes.
// Two statements on one pooled connection: the feed (read only), then the
// impressions (one statement, so all or none of them); no BEGIN/COMMIT, which
// were two round trips more for nothing a reader could see half done.
import { APP_MARKER, PROFILE_NAME, coldStartExploreSlots, exploreSlots } from './model.js';
import { why } from './why.js';

const FEED_SQL = `
  SELECT r.item_id, r.score, r.rank, r.label, r.arm, r.near, i.metadata
    FROM tidal.retrieve(for_user => $1::bigint, profile => $2::text, filter => $3::jsonb,
                        lim => $4::int, seed => $6::bigint,
                        explore => CASE WHEN EXISTS (SELECT FROM tidal.interests($1::bigint))
                                        THEN $5::int ELSE $7::int END) AS r
    JOIN tidal.items AS i ON i.item_id = r.item_id
   ORDER BY r.rank`;

export async function buildFeed(pool, { user, limit, seed = null }) {
  const explore = exploreSlots(limit);
  const coldExplore = coldStartExploreSlots(limit);
  const client = await pool.connect();
  try {
    const { rows } = await client.query(FEED_SQL,
      [user, PROFILE_NAME, JSON.stringify(APP_MARKER), limit, explore, seed, coldExplore]);
    const items = rows.map((r) => {
      const m = r.metadata || {};
      const arms = r.near || []; // the interests a match or a surprise is near, nearest first
      return {
        item_id: r.item_id,
        title: m.title ?? null,
        url: m.url ?? null,
        summary: m.summary ?? null,
        source: m.source ?? null,
        topic: m.topic ?? null,
        label: r.label,
        arm: r.arm,
        why: why(r.label, r.arm, arms),
        score: r.score,
        rank: r.rank,
      };
    });
    const impressions = items.length ? await recordImpressions(client, user, items) : 0;
    return { user, items, impressions };
  } finally {
    client.release();
  }
}

// A card counts as an impression (a 'view' signal, a row in forage.impressions
// under this feed's id) when it was not already shown to the user in the last
// REPEAT_WINDOW: the page fetches the feed again after every reaction, and the
// same cards shown again are not new trials for the bandit.
export const REPEAT_WINDOW = '30 minutes';

async function recordImpressions(client, user, items) {
  const { rows } = await client.query(
    `WITH fresh AS MATERIALIZED (
       SELECT x.id, x.label, x.arm
         FROM ROWS FROM (pg_catalog.unnest($2::bigint[]), pg_catalog.unnest($3::text[]),
                         pg_catalog.unnest($4::text[])) AS x(id, label, arm)
        WHERE NOT EXISTS (SELECT FROM forage.impressions AS p
                           WHERE p.user_id = $1::bigint AND p.item_id = x.id
                             AND p.served_at > pg_catalog.now() - $5::interval)),
     views AS (
       SELECT tidal.signal('view', f.id, 1, user_id => $1::bigint) FROM fresh AS f),
     feed AS MATERIALIZED (
       SELECT pg_catalog.nextval('forage.feed_ids') AS id WHERE EXISTS (SELECT FROM fresh)),
     shown AS (
       INSERT INTO forage.impressions (feed_id, user_id, item_id, label, arm)
       SELECT n.id, $1::bigint, f.id, f.label, f.arm FROM fresh AS f, feed AS n)
     SELECT pg_catalog.count(*)::int AS views FROM views`,
    [user, items.map((i) => i.item_id), items.map((i) => i.label), items.map((i) => i.arm), REPEAT_WINDOW]);
  return rows[0].views;
}
