// db.js — owns the simulation's database: a throw-away PostgreSQL 15
// instance with tidal preloaded (initdb in a temp dir, a free port on
// 127.0.0.1, trust auth, run as OS user "tidal" when we are root, since
// PostgreSQL refuses root), the connection pool, the schema setup (signals,
// the 'sim' profile, the corpus) and stopping it all (also on error).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// the app's node_modules (apps/forage/node_modules), else one next to the sim
const pg = require('pg');

const PG_USER = process.env.TIDAL_USER || 'tidal';

function bindir() {
  for (const dir of [process.env.TIDAL_PG_BINDIR, '/usr/lib/postgresql/15/bin']) {
    if (dir && fs.existsSync(path.join(dir, 'initdb'))) return dir;
  }
  return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function runPg(bin, args) {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', PG_USER, '--', bin, ...args]] : [bin, args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' } });
  if (r.status !== 0) {
    throw new Error(`${path.basename(bin)} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout || r.error}`);
  }
  return r.stdout;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Start an instance: { pool, stop() }. stop() is idempotent.
export async function startInstance({ dimensions, connections }) {
  const bin = bindir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forage-sim-'));
  if (isRoot()) execFileSync('chown', [PG_USER, dir]);
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'server.log');
  let started = false;
  let pool = null;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (pool) await pool.end().catch(() => {});
    try {
      if (started) runPg(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
    } finally {
      if (!process.env.FORAGE_SIM_KEEP_PG) fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    runPg(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--encoding=UTF8',
      '--locale=C.UTF-8', '--no-sync']);
    const port = await freePort();
    const conf = [
      '',
      '# ---- Forage simulation (apps/forage/sim/db.js) ----',
      "shared_preload_libraries = 'tidal'",
      `tidal.embedding_dimensions = ${dimensions}`,
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      '',
    ].join('\n');
    const extra = path.join(dir, 'extra.conf');
    fs.writeFileSync(extra, conf);
    fs.chmodSync(extra, 0o644);
    runPg('/bin/sh', ['-c', 'cat "$0" >> "$1"', extra, path.join(data, 'postgresql.conf')]);
    runPg(path.join(bin, 'pg_ctl'), ['-D', data, '-l', log, '-w', '-t', '60', 'start']);
    started = true;
    pool = new pg.Pool({ connectionString: `postgresql://postgres@127.0.0.1:${port}/postgres`, max: connections });
    await pool.query('SET client_min_messages = warning');
    await pool.query('CREATE EXTENSION IF NOT EXISTS tidal');
  } catch (err) {
    const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').slice(-20).join('\n') : '';
    await stop();
    throw new Error(`${err.message}\n${tail}`);
  }
  return { pool, stop };
}

// Signals, the 'sim' profile and the corpus.
export async function setupSchema(pool, corpus) {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query("SELECT tidal.define_signal('view', '1 day'::interval, polarity => 0)");
    await c.query("SELECT tidal.define_signal('save', '7 days'::interval, polarity => 1)");
    await c.query("SELECT tidal.define_signal('skip', '7 days'::interval, polarity => -1)");
    await c.query("SELECT tidal.define_profile('sim', $1::jsonb)",
      [JSON.stringify({ terms: [{ measure: 'interest', weight: 1 }] })]);
    for (const it of corpus.items) {
      await c.query('SELECT tidal.upsert_item($1::bigint, NULL, $2::jsonb, embedding => $3::real[])',
        [it.id, JSON.stringify({ topic: it.topic }), it.embedding]);
    }
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

// ---- the queries the strategies and the simulation use ----

export async function retrieve(client, { user, lim, explore, seed = null, filter = null }) {
  const { rows } = await client.query(
    `SELECT item_id::int AS item_id, score, rank, label, arm
       FROM tidal.retrieve(for_user => $1::bigint, profile => 'sim', lim => $2::int, explore => $3::int,
                           seed => $4::bigint, filter => $5::jsonb)
      ORDER BY rank`,
    [user, lim, explore, seed, filter ? JSON.stringify(filter) : null]);
  return rows;
}

export async function interests(client, user) {
  const { rows } = await client.query(
    'SELECT arm, mass, share FROM tidal.interests($1::bigint) ORDER BY mass DESC', [user]);
  return rows;
}

export async function arms(client, user) {
  const { rows } = await client.query(
    'SELECT arm, successes, failures, trials, mean FROM tidal.arms($1::bigint)', [user]);
  return rows;
}

// Record one feed's events in one statement: a view per card, a save or a
// skip per reaction, and a hide per card (a card never comes back).
export async function recordFeed(client, user, cards) {
  const names = [];
  const items = [];
  for (const card of cards) {
    names.push('view');
    items.push(card.item);
    if (card.reaction) {
      names.push(card.reaction);
      items.push(card.item);
    }
  }
  await client.query(
    `SELECT count(tidal.signal(e.name, e.item, user_id => $1::bigint))
       FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS e(name, item, n)`,
    [user, names, items]);
  await client.query(
    `SELECT count(tidal.hide_item($1::bigint, h.item))
       FROM unnest($2::bigint[]) AS h(item)`,
    [user, cards.map((c) => c.item)]);
}
