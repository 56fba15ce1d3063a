// The discovery agent's side: its heartbeat (forage.heartbeats) and the
// browse tasks -- which topics and sources to explore next -- derived from
// the bandit's counts (tidal.arms), per user or over recently active users.

export const INTERVAL_MINUTES = 30;
export const LIMIT_PER_TOPIC = 5;
const RECENT_USERS = 200;

export async function recordHeartbeat(pool, agent) {
  const { rows } = await pool.query(
    'INSERT INTO forage.heartbeats (agent) VALUES ($1::text) RETURNING at', [agent ?? null]);
  return rows[0].at;
}

export async function lastHeartbeat(pool) {
  const { rows } = await pool.query('SELECT pg_catalog.max(at) AS at FROM forage.heartbeats');
  return rows[0].at;
}

// Bandit counts per arm: one user's, or summed over the users served in the last 7 days.
async function armCounts(pool, user) {
  if (user !== undefined) {
    const { rows } = await pool.query(
      'SELECT arm, successes, failures, trials FROM tidal.arms($1::bigint)', [user]);
    return rows;
  }
  const { rows } = await pool.query(
    `SELECT a.arm, pg_catalog.sum(a.successes) AS successes, pg_catalog.sum(a.failures) AS failures,
            pg_catalog.sum(a.trials) AS trials
       FROM (SELECT DISTINCT user_id FROM forage.impressions
              WHERE served_at > pg_catalog.now() - interval '7 days'
              ORDER BY user_id LIMIT $1::int) AS u
      CROSS JOIN LATERAL tidal.arms(u.user_id) AS a
      GROUP BY a.arm`,
    [RECENT_USERS]);
  return rows;
}

// Topics Forage has items of, with their sources (most items first).
async function topicSources(pool) {
  const { rows } = await pool.query(
    `SELECT i.metadata->>'topic' AS topic, i.metadata->>'source' AS source, pg_catalog.count(*)::int AS n
       FROM tidal.items AS i
      WHERE i.metadata @> $1::jsonb AND i.metadata ? 'topic'
      GROUP BY 1, 2
      ORDER BY 1, 3 DESC, 2`,
    [JSON.stringify({ app: 'forage' })]);
  const topics = new Map();
  for (const r of rows) {
    if (!topics.has(r.topic)) topics.set(r.topic, { sources: [], items: 0 });
    const t = topics.get(r.topic);
    t.sources.push(r.source);
    t.items += r.n;
  }
  return topics;
}

// Priority of an arm in [0, 1]: its Beta mean (how well it does), plus a bonus
// for arms with few trials (how little is known), as an upper confidence bound.
export function priority({ successes = 0, failures = 0, trials = 0 }) {
  const s = Math.max(0, Number(successes));
  const f = Math.max(0, Number(failures));
  const mean = (1 + s) / (2 + s + f);
  const bonus = 1 / Math.sqrt(1 + Math.max(0, Number(trials)));
  return Math.min(1, (mean + bonus) / 2);
}

export async function browseTasks(pool, { user } = {}) {
  const [counts, topics, recent] = await Promise.all([
    armCounts(pool, user),
    topicSources(pool),
    pool.query(`SELECT pg_catalog.count(*)::int AS n FROM forage.items
                 WHERE created_at > pg_catalog.now() - pg_catalog.make_interval(mins => $1::int)`, [INTERVAL_MINUTES]),
  ]);
  const byArm = new Map(counts.map((c) => [c.arm, c]));
  const names = new Set([...topics.keys(), ...counts.map((c) => c.arm).filter((a) => a && !a.startsWith('#'))]);
  const list = [...names].map((name) => {
    const c = byArm.get(name) || {};
    const t = topics.get(name) || { sources: [], items: 0 };
    return {
      name,
      priority: Number(priority(c).toFixed(4)),
      sources: t.sources,
      items: t.items,
      trials: Number(c.trials || 0),
      successes: Number(c.successes || 0),
    };
  });
  list.sort((a, b) => b.priority - a.priority || a.name.localeCompare(b.name));
  // The agent has done this interval's work once it added a full round of items.
  const quota = LIMIT_PER_TOPIC * Math.max(1, list.length);
  return {
    should_run: recent.rows[0].n < quota,
    interval_minutes: INTERVAL_MINUTES,
    limit_per_topic: LIMIT_PER_TOPIC,
    user: user ?? null,
    topics: list,
  };
}
