// The feed page: serves the few files of public/ (no build step, no framework).
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PUBLIC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'public');
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };

export default async function staticFiles(app) {
  const files = (await fs.readdir(PUBLIC)).filter((f) => TYPES[path.extname(f)]);
  const send = (name) => async (req, reply) => {
    const body = await fs.readFile(path.join(PUBLIC, name));
    reply.type(TYPES[path.extname(name)]).header('cache-control', 'no-cache').send(body);
  };
  app.get('/', send('index.html'));
  for (const f of files) app.get(`/${f}`, send(f));
}
