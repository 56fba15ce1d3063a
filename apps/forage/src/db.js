// The database connection (a pg Pool) and the mapping of PostgreSQL errors to
// HTTP answers. Every statement Forage runs is parameterized and
// schema-qualified; this file owns only how they are sent and how their
// failures become status codes.
import pg from 'pg';

// bigint and numeric come back as strings by default; item and user ids fit
// in a JS number (they are < 2^53 in Forage), so parse int8 as a number.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
const parseTextArray = pg.types.getTypeParser(1016); // int8[]
pg.types.setTypeParser(1016, (v) => parseTextArray(v).map((x) => (x === null ? null : Number(x))));

// the cosine from which tidal labels a card near one of the user's interests 'match'
export const MATCH_SIMILARITY = 0.25;

export function createPool({ databaseUrl, max = 10 } = {}) {
  const pool = new pg.Pool({
    connectionString: databaseUrl || undefined, // undefined: libpq-style PG* environment variables
    max,
    idleTimeoutMillis: 30_000,
    application_name: 'forage',
    // a card is a 'match' from this cosine to an interest on (tidal's default,
    // 0.75, suits raw embeddings; Forage's are centered: src/embedder.js)
    options: `-c tidal.match_similarity=${MATCH_SIMILARITY}`,
  });
  // An idle client that loses its connection must not crash the process.
  pool.on('error', (err) => {
    process.emitWarning(`forage: idle database connection failed: ${err.message}`);
  });
  return pool;
}

// Run fn(client) inside BEGIN ... COMMIT; roll back on any error.
export async function inTransaction(pool, fn) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

// SQLSTATE -> HTTP status. Classes first, then exact codes.
const EXACT = {
  '22023': 400, // invalid_parameter_value (tidal: bad embedding, bad explore, ...)
  '22004': 400, // null_value_not_allowed
  '22003': 400, // numeric_value_out_of_range
  '22P02': 400, // invalid_text_representation
  '2202E': 400, // array_subscript_error (embedding of another length)
  '42704': 404, // undefined_object (unknown signal, profile, tenant)
  '42883': 501, // undefined_function: the installed tidal lacks a function Forage needs
  '42501': 403, // insufficient_privilege
  '23505': 409, // unique_violation
  '53200': 507, // out_of_memory (tidal.max_items reached)
  '55000': 503, // object_not_in_prerequisite_state (read after write timed out)
  '0A000': 501, // feature_not_supported (interests on a region of several shards)
  '57P01': 503, // admin_shutdown
  '57P03': 503, // cannot_connect_now
};

export function httpStatusForPgError(err) {
  const code = err && typeof err.code === 'string' ? err.code : '';
  if (EXACT[code]) return EXACT[code];
  if (code.startsWith('08')) return 503; // connection exceptions
  if (code.startsWith('22')) return 400; // data exceptions
  if (code.startsWith('23')) return 409; // integrity constraint violations
  if (['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE'].includes(code)) return 503;
  return 500;
}

// True for errors that came from PostgreSQL (or from reaching it).
export function isDatabaseError(err) {
  return Boolean(err && typeof err.code === 'string' && (/^[0-9A-Z]{5}$/.test(err.code) || err.code.startsWith('E')));
}
