// buildApp: the fastify application (routes, validation, error handling) on a
// database pool and an embedder; runs Forage's setup (schema, signals,
// profile, seed) before it answers. The process entry point is server.js.
import Fastify from 'fastify';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool } from './db.js';
import { errorHandler } from './errors.js';
import { setup } from './setup.js';
import { validatorCompiler } from './validation.js';
import api from './routes/api.js';
import staticFiles from './routes/static.js';

export const DEFAULT_SEED_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'seed', 'items.json');

export async function buildApp({ databaseUrl, embedder, seedFile = DEFAULT_SEED_FILE, logger = false, pool } = {}) {
  const db = pool || createPool({ databaseUrl });
  const app = Fastify({ logger });
  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({ statusCode: 404, error: 'Not Found', message: `no route ${req.method} ${req.url}` });
  });
  app.decorate('db', db);
  app.decorate('seeded', 0);
  await app.register(api, { pool: db, embedder });
  await app.register(staticFiles);
  if (!pool) app.addHook('onClose', async () => db.end());
  app.seeded = await setup(db, { embedder, seedFile });
  return app;
}
