// Test helper: a REAL, throw-away PostgreSQL 15 instance with tidal preloaded.
// initdb into a temporary directory, a free port on 127.0.0.1, trust auth, the
// two settings Forage needs (shared_preload_libraries, tidal.embedding_dimensions),
// CREATE EXTENSION tidal. stop() shuts it down and removes the directory.
// As root, the PostgreSQL binaries run as user "tidal" (they refuse root).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

const PG_USER = process.env.TIDAL_USER || 'tidal';

export function pgBindir() {
  const candidates = [process.env.TIDAL_PG_BINDIR, '/usr/lib/postgresql/15/bin'];
  for (const dir of candidates) {
    if (dir && fs.existsSync(path.join(dir, 'initdb'))) return dir;
  }
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('PostgreSQL 15 binaries not found (set TIDAL_PG_BINDIR or install postgresql-15)');
  }
}

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

// Run a PostgreSQL binary, as user tidal when we are root.
function runPg(bin, args) {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', PG_USER, '--', bin, ...args]] : [bin, args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' } });
  if (r.status !== 0) {
    throw new Error(`${path.basename(bin)} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout || r.error}`);
  }
  return r.stdout;
}

export function freePort() {
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

// Start an instance; resolves to { databaseUrl, port, dir, query(sql, params), stop() }.
export async function startTidal({ extraConf = '' } = {}) {
  const bindir = pgBindir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forage-pg-'));
  if (isRoot()) execFileSync('chown', [PG_USER, dir]);
  const data = path.join(dir, 'data');
  runPg(path.join(bindir, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync']);
  const port = await freePort();
  const conf = [
    '',
    '# ---- Forage tests (apps/forage/test/helpers/pg.js) ----',
    "shared_preload_libraries = 'tidal'",
    'tidal.embedding_dimensions = 100',
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${dir}'`,
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    extraConf,
    '',
  ].join('\n');
  // written as the instance's owner (the data directory is not ours when we are root)
  const confPath = path.join(data, 'postgresql.conf');
  const tmpConf = path.join(dir, 'extra.conf');
  fs.writeFileSync(tmpConf, conf);
  fs.chmodSync(tmpConf, 0o644);
  runPg('/bin/sh', ['-c', `cat "$0" >> "$1"`, tmpConf, confPath]);
  const log = path.join(dir, 'server.log');
  runPg(path.join(bindir, 'pg_ctl'), ['-D', data, '-l', log, '-w', '-t', '60', 'start']);

  const databaseUrl = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  let stopped = false;
  const instance = {
    databaseUrl,
    port,
    dir,
    logFile: log,
    query: (sql, params) => pool.query(sql, params),
    async stop() {
      if (stopped) return;
      stopped = true;
      await pool.end().catch(() => {});
      try {
        runPg(path.join(bindir, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        if (!process.env.FORAGE_KEEP_PG) fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  try {
    await pool.query('SET client_min_messages = warning');
    await pool.query('CREATE EXTENSION IF NOT EXISTS tidal');
  } catch (err) {
    const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').slice(-20).join('\n') : '';
    await instance.stop();
    throw new Error(`CREATE EXTENSION tidal failed: ${err.message}\n${tail}`);
  }
  return instance;
}

// True when the installed tidal has the functions Forage's feed needs
// (tidal.arms, tidal.interests, retrieve's explore/label/arm).
export async function hasExploration(instance) {
  const { rows } = await instance.query(
    `SELECT count(*)::int AS n FROM pg_catalog.pg_proc
      WHERE pronamespace = 'tidal'::regnamespace AND proname = ANY($1::text[])`,
    [['arms', 'interests']]);
  return rows[0].n >= 2;
}
