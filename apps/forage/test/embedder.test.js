// The embedder: unit vectors of 100 dimensions, similar texts close, unrelated ones far.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cosine, loadEmbedder } from '../src/embedder.js';

test('embeds a text as a unit vector of 100 dimensions', async () => {
  const e = await loadEmbedder();
  const v = e.embed('hiking trails in the mountains');
  assert.equal(v.length, 100);
  assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-9, 'unit length');
  assert.ok(v.every(Number.isFinite));
});

test('related texts are closer than unrelated ones', async () => {
  const e = await loadEmbedder();
  const hiking = e.embed('hiking trails in the mountains');
  const trekking = cosine(hiking, e.embed('mountain climbing and trekking'));
  const baking = cosine(hiking, e.embed('sourdough bread baking recipe'));
  assert.ok(trekking > 0.75, `hiking vs trekking: ${trekking}`);
  assert.ok(baking < 0.4, `hiking vs baking: ${baking}`);
  assert.ok(trekking - baking > 0.4);
});

test('stop words, punctuation and unknown words are ignored', async () => {
  const e = await loadEmbedder();
  assert.deepEqual(e.embed('mountains!!! the of and'), e.embed('mountains'));
  assert.deepEqual(e.embed('mountains qzxqzxqzx'), e.embed('mountains'));
  assert.equal(e.embed('the of and ...'), null);
  assert.equal(e.embed(''), null);
});

test('loads once per process', async () => {
  assert.equal(await loadEmbedder(), await loadEmbedder());
});
