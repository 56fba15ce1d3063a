// The mapping of PostgreSQL errors to HTTP status codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpStatusForPgError } from '../src/db.js';
import { coldStartExploreSlots, exploreSlots, signalWeight } from '../src/model.js';
import { why } from '../src/why.js';

test('SQLSTATEs map to HTTP codes', () => {
  assert.equal(httpStatusForPgError({ code: '22023' }), 400);
  assert.equal(httpStatusForPgError({ code: '2202E' }), 400);
  assert.equal(httpStatusForPgError({ code: '22P02' }), 400);
  assert.equal(httpStatusForPgError({ code: '42704' }), 404);
  assert.equal(httpStatusForPgError({ code: '23505' }), 409);
  assert.equal(httpStatusForPgError({ code: '08006' }), 503);
  assert.equal(httpStatusForPgError({ code: 'ECONNREFUSED' }), 503);
  assert.equal(httpStatusForPgError({ code: 'XX000' }), 500);
  assert.equal(httpStatusForPgError(new Error('plain')), 500);
});

test('dwell weight is min(1, duration/30 s); other signals weigh 1', () => {
  assert.equal(signalWeight('dwell', 15000), 0.5);
  assert.equal(signalWeight('dwell', 90000), 1);
  assert.equal(signalWeight('save'), 1);
});

test('about 2 of 7 slots explore, never all', () => {
  assert.equal(exploreSlots(7), 2);
  assert.equal(exploreSlots(1), 0);
  assert.equal(exploreSlots(2), 1);
  assert.equal(exploreSlots(50), 14);
  assert.equal(coldStartExploreSlots(7), 6);
  assert.equal(coldStartExploreSlots(1), 0);
});

test('why sentences name the arm', () => {
  assert.equal(why('match', 'jazz'), 'near your interest in jazz');
  assert.equal(why('match', 'jazz', ['jazz', 'hiking']), 'near your interest in jazz');
  assert.equal(why('match', 'astronomy', ['typography']), 'astronomy, near your interest in typography');
  assert.match(why('exploring', 'astronomy'), /^exploring astronomy/);
  assert.equal(why('surprise', 'jazz', ['jazz', 'hiking']), 'where your interests in jazz and hiking meet');
  assert.match(why(null, 'baking'), /baking/);
});
