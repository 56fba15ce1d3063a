// The JSON endpoints: /signal, /feed, /items, /interests, /browse-tasks,
// /discovery/heartbeat, /health. Validation is by schema; the work is in src/.
import { browseTasks, lastHeartbeat, recordHeartbeat } from '../agent.js';
import { buildFeed } from '../feed.js';
import { countItems, upsertItem } from '../items.js';
import { userModel } from '../interests.js';
import { recordSignal } from '../signals.js';
import * as S from './schemas.js';

export default async function api(app, { pool, embedder }) {
  app.post('/signal', { schema: { body: S.signalBody } }, async (req) => recordSignal(pool, req.body));

  app.get('/feed', { schema: { querystring: S.feedQuery } }, async (req) => {
    const { user, limit, seed } = req.query;
    const feed = await buildFeed(pool, { user, limit, seed: seed ?? null });
    return { user: feed.user, items: feed.items };
  });

  app.post('/items', { schema: { body: S.itemBody } }, async (req, reply) => {
    const result = await upsertItem(pool, embedder, req.body);
    reply.status(result.created ? 201 : 200);
    return result;
  });

  app.get('/interests', { schema: { querystring: S.userQuery } }, async (req) => userModel(pool, req.query.user));

  app.get('/browse-tasks', { schema: { querystring: S.optionalUserQuery } },
    async (req) => browseTasks(pool, { user: req.query.user }));

  app.post('/discovery/heartbeat', { schema: { body: S.heartbeatBody } }, async (req) => {
    const at = await recordHeartbeat(pool, req.body?.agent);
    return { ok: true, at };
  });

  app.get('/health', async (req, reply) => {
    let database = 'ok';
    let items = null;
    let heartbeat = null;
    try {
      items = await countItems(pool);
      heartbeat = await lastHeartbeat(pool);
    } catch (err) {
      database = `error: ${err.message}`;
    }
    const ok = database === 'ok' && Boolean(embedder);
    reply.status(ok ? 200 : 503);
    return { ok, database, items, embedder: embedder ? 'loaded' : 'missing', last_heartbeat: heartbeat };
  });
}
