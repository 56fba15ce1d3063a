#!/usr/bin/env node
// Forage's process entry point: loads the word vectors once, builds the app
// against DATABASE_URL (or the PG* environment variables) and listens on
// HOST:PORT (default 127.0.0.1:4242).
import { buildApp } from './src/app.js';
import { loadEmbedder } from './src/embedder.js';

const port = Number(process.env.PORT ?? 4242);
const host = process.env.HOST ?? '127.0.0.1';

const started = Date.now();
const embedder = await loadEmbedder();
console.log(`forage: word vectors loaded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
const app = await buildApp({ databaseUrl: process.env.DATABASE_URL, embedder, logger: { level: process.env.LOG_LEVEL ?? 'warn' } });
if (app.seeded) console.log(`forage: loaded ${app.seeded} seed items`);
const address = await app.listen({ port, host });
console.log(`forage: listening on ${address}  (feed page: ${address}/?user=1)`);

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    app.close().finally(() => process.exit(0));
  });
}
