// The user's model for the page's panel: tidal.interests (arms of most
// positive mass), tidal.arms (the bandit's counts) and the exploration hit
// rate over the user's recent feeds (forage.impressions: of the exploring
// cards served so far, the share that got a save, share or dwell).

const HIT_RATE_SQL = `
  SELECT feed_id, served_at,
         sum(exploring) OVER w AS exploring, sum(hits) OVER w AS hits
    FROM (SELECT feed_id, pg_catalog.min(served_at) AS served_at,
                 pg_catalog.count(*) FILTER (WHERE label = 'exploring') AS exploring,
                 pg_catalog.count(*) FILTER (WHERE label = 'exploring' AND hit) AS hits
            FROM forage.impressions
           WHERE user_id = $1::bigint
           GROUP BY feed_id) AS f
  WINDOW w AS (ORDER BY feed_id)
   ORDER BY feed_id DESC
   LIMIT $2::int`;

export async function userModel(pool, user, { points = 50 } = {}) {
  const [interests, arms, rate] = await Promise.all([
    pool.query('SELECT arm, mass, share FROM tidal.interests($1::bigint) ORDER BY mass DESC', [user]),
    pool.query('SELECT arm, successes, failures, trials, mean FROM tidal.arms($1::bigint) ORDER BY arm', [user]),
    pool.query(HIT_RATE_SQL, [user, points]),
  ]);
  const hitRate = rate.rows.reverse().map((r) => ({
    feed_id: r.feed_id,
    served_at: r.served_at,
    exploring: Number(r.exploring),
    hits: Number(r.hits),
    rate: Number(r.exploring) > 0 ? Number(r.hits) / Number(r.exploring) : 0,
  }));
  return { user, interests: interests.rows, arms: arms.rows, exploration_hit_rate: hitRate };
}
