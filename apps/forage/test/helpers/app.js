// Test helper: one tidal instance and one Forage app per test file (the word
// vectors load once per process), plus small SQL probes the tests use to see
// what was (or was not) stored.
import { buildApp } from '../../src/app.js';
import { loadEmbedder } from '../../src/embedder.js';
import { startTidal } from './pg.js';

export async function startForage() {
  const pg = await startTidal();
  try {
    const embedder = await loadEmbedder();
    const app = await buildApp({ databaseUrl: pg.databaseUrl, embedder });
    const call = async (method, url, payload) => {
      const res = await app.inject({ method, url, payload });
      let body;
      try { body = res.json(); } catch { body = res.body; }
      return { status: res.statusCode, body };
    };
    return {
      pg, app, embedder, call,
      async stop() {
        await app.close();
        await pg.stop();
      },
    };
  } catch (err) {
    await pg.stop();
    throw err;
  }
}

// Everything tidal's log holds: signal events, hides (of everyone).
export async function logCount(pg, userId = null) {
  const { rows } = await pg.query(
    `SELECT count(*)::int AS n FROM tidal.export_feedback('-infinity', 'infinity', user_id => $1::bigint)`, [userId]);
  return rows[0].n;
}

export async function userEvents(pg, userId) {
  const { rows } = await pg.query(
    `SELECT e FROM tidal.export_feedback('-infinity', 'infinity', user_id => $1::bigint) AS e`, [userId]);
  return rows.map((r) => r.e);
}

export async function forageItemCount(pg) {
  const { rows } = await pg.query('SELECT (SELECT count(*) FROM forage.items)::int AS forage, (SELECT count(*) FROM tidal.items)::int AS tidal');
  return rows[0];
}

export async function seedItemsByTopic(pg) {
  const { rows } = await pg.query(
    `SELECT metadata->>'topic' AS topic, array_agg(item_id ORDER BY item_id) AS ids
       FROM tidal.items WHERE metadata @> '{"app":"forage"}' GROUP BY 1`);
  return Object.fromEntries(rows.map((r) => [r.topic, r.ids]));
}
