// Every endpoint against a real tidal instance: what it answers, what it
// stores, and that bad input gets a 4xx with a message and stores nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { forageItemCount, logCount, seedItemsByTopic, startForage, userEvents } from './helpers/app.js';

let f;
let byTopic;
before(async () => {
  f = await startForage();
  byTopic = await seedItemsByTopic(f.pg);
});
after(async () => {
  await f?.stop();
});

function assertRejected(res, status = 400) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(typeof res.body.message, 'string');
  assert.ok(res.body.message.length > 0);
}

describe('first start', () => {
  test('loads the 100 seed items in 8 topics, each with an embedding', async () => {
    assert.deepEqual(await forageItemCount(f.pg), { forage: 100, tidal: 100 });
    assert.deepEqual(Object.keys(byTopic).sort(),
      ['astronomy', 'baking', 'cycling', 'hiking', 'jazz', 'marine', 'typography', 'woodworking']);
    const { rows } = await f.pg.query(
      `SELECT count(*) FILTER (WHERE embedding IS NOT NULL AND array_length(embedding, 1) = 100)::int AS embedded,
              count(*) FILTER (WHERE metadata ?& array['url','title','summary','source','topic'])::int AS complete
         FROM tidal.items`);
    assert.deepEqual(rows[0], { embedded: 100, complete: 100 });
  });

  test('defines the signals with their polarities and the forage profile', async () => {
    const { rows } = await f.pg.query('SELECT name, polarity FROM tidal.signals ORDER BY name');
    assert.deepEqual(rows, [
      { name: 'dwell', polarity: 1 }, { name: 'save', polarity: 1 }, { name: 'share', polarity: 1 },
      { name: 'skip', polarity: -1 }, { name: 'view', polarity: 0 }]);
    const p = await f.pg.query(`SELECT count(*)::int AS n FROM tidal.retrieve(profile => 'forage', lim => 1)`);
    assert.equal(p.rows[0].n, 1);
  });
});

describe('GET /health', () => {
  test('reports the database, items and embedder', async () => {
    const res = await f.call('GET', '/health');
    assert.equal(res.status, 200);
    assert.equal(res.body.ok, true);
    assert.equal(res.body.database, 'ok');
    assert.equal(res.body.items, 100);
    assert.equal(res.body.embedder, 'loaded');
    assert.ok('last_heartbeat' in res.body);
  });
});

describe('POST /items', () => {
  const item = {
    url: 'https://skywatch.example/the-andromeda-galaxy-with-binoculars',
    title: 'The Andromeda galaxy with binoculars',
    summary: 'Finding the nearest big galaxy on an autumn night, star hopping from Cassiopeia.',
    source: 'skywatch.example',
    topic: 'astronomy',
  };

  test('embeds and stores a new item, then updates it in place for the same url', async () => {
    const before = await forageItemCount(f.pg);
    const first = await f.call('POST', '/items', item);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.created, true);
    assert.equal(first.body.embedded, true);
    const id = first.body.item_id;
    const { rows } = await f.pg.query('SELECT metadata, embedding FROM tidal.items WHERE item_id = $1', [id]);
    assert.equal(rows[0].metadata.title, item.title);
    assert.equal(rows[0].metadata.topic, 'astronomy');
    assert.equal(rows[0].embedding.length, 100);

    const again = await f.call('POST', '/items', { ...item, title: 'Andromeda with binoculars, revised' });
    assert.equal(again.status, 200);
    assert.equal(again.body.item_id, id);
    assert.equal(again.body.created, false);
    const after = await forageItemCount(f.pg);
    assert.deepEqual(after, { forage: before.forage + 1, tidal: before.tidal + 1 });
    const { rows: r2 } = await f.pg.query(`SELECT metadata->>'title' AS title FROM tidal.items WHERE item_id = $1`, [id]);
    assert.equal(r2[0].title, 'Andromeda with binoculars, revised');
  });

  test('rejects bad items with 400 and stores nothing', async () => {
    const before = await forageItemCount(f.pg);
    const bad = [
      { ...item, url: 'not a url' },
      { ...item, url: 'ftp://x.example/a' },
      { ...item, title: '' },
      { ...item, title: '   ' },
      (({ topic, ...rest }) => rest)(item),
      { ...item, summary: 42 },
      { ...item, url: 'https://x.example/new', extra: 'field' },
      { ...item, url: 'https://x.example/new2', title: 'x'.repeat(301) },
    ];
    for (const body of bad) assertRejected(await f.call('POST', '/items', body));
    const notJson = await f.app.inject({ method: 'POST', url: '/items', headers: { 'content-type': 'application/json' }, payload: '{"url":' });
    assert.equal(notJson.statusCode, 400);
    assert.deepEqual(await forageItemCount(f.pg), before);
  });
});

describe('POST /signal', () => {
  test('records a save for the user, hides the item, and shows up in the interests', async () => {
    const item = byTopic.jazz[0];
    const res = await f.call('POST', '/signal', { user_id: 101, item_id: item, signal_type: 'save' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.weight, 1);
    const events = await userEvents(f.pg, 101);
    assert.ok(events.some((e) => e.kind === 'signal' && e.signal === 'save' && e.entity === item && e.user_id === 101));
    assert.ok(events.some((e) => e.kind === 'hide' && e.item_id === item));
    const { rows } = await f.pg.query('SELECT arm FROM tidal.interests(101)');
    assert.deepEqual(rows.map((r) => r.arm), ['jazz']);
  });

  test('dwell weighs min(1, duration_ms / 30000)', async () => {
    const [a, b] = byTopic.baking;
    assert.equal((await f.call('POST', '/signal', { user_id: 102, item_id: a, signal_type: 'dwell', duration_ms: 15000 })).status, 200);
    assert.equal((await f.call('POST', '/signal', { user_id: 102, item_id: b, signal_type: 'dwell', duration_ms: 120000 })).status, 200);
    const events = (await userEvents(f.pg, 102)).filter((e) => e.signal === 'dwell');
    const w = Object.fromEntries(events.map((e) => [e.entity, e.weight]));
    assert.equal(w[a], 0.5);
    assert.equal(w[b], 1);
    assert.ok(!(await userEvents(f.pg, 102)).some((e) => e.kind === 'hide'), 'a dwell hides nothing');
  });

  test('skip hides the item for that user only: it never comes back', async () => {
    const skipped = byTopic.hiking[0];
    const res = await f.call('POST', '/signal', { user_id: 103, item_id: skipped, signal_type: 'skip' });
    assert.equal(res.status, 200);
    assert.equal(res.body.hidden, true);
    for (let seed = 1; seed <= 5; seed += 1) {
      const feed = await f.call('GET', `/feed?user=103&limit=50&seed=${seed}`);
      assert.equal(feed.status, 200);
      assert.ok(!feed.body.items.some((i) => i.item_id === skipped), `seed ${seed} served the skipped item`);
    }
    const { rows } = await f.pg.query('SELECT tidal.is_hidden(103, $1) AS mine, tidal.is_hidden(104, $1) AS other', [skipped]);
    assert.deepEqual(rows[0], { mine: true, other: false });
  });

  test('rejects bad signals with a 4xx and a message, and stores nothing', async () => {
    const item = byTopic.cycling[0];
    const before = await logCount(f.pg);
    const bad = [
      [{ user_id: 105, item_id: item, signal_type: 'like' }, 400],
      [{ user_id: 105, item_id: item, signal_type: 'dwell' }, 400],
      [{ user_id: 105, item_id: item, signal_type: 'dwell', duration_ms: -5 }, 400],
      [{ user_id: 105, item_id: item, signal_type: 'dwell', duration_ms: 1.5 }, 400],
      [{ user_id: 0, item_id: item, signal_type: 'save' }, 400],
      [{ user_id: 'abc', item_id: item, signal_type: 'save' }, 400],
      [{ user_id: '105', item_id: item, signal_type: 'save' }, 400],
      [{ item_id: item, signal_type: 'save' }, 400],
      [{ user_id: 105, item_id: item, signal_type: 'save', extra: 1 }, 400],
      [{ user_id: 105, item_id: 999999999, signal_type: 'save' }, 404],
      [{ user_id: 105, item_id: 999999999, signal_type: 'skip' }, 404],
    ];
    for (const [body, status] of bad) assertRejected(await f.call('POST', '/signal', body), status);
    assert.equal(await logCount(f.pg), before);
  });
});

describe('GET /feed', () => {
  test('serves 7 labelled cards, all but one exploring for a new user, and records one view per card', async () => {
    const res = await f.call('GET', '/feed?user=201&seed=3');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.user, 201);
    const { items } = res.body;
    assert.equal(items.length, 7);
    assert.deepEqual(items.map((i) => i.rank), [1, 2, 3, 4, 5, 6, 7]);
    for (const i of items) {
      for (const k of ['item_id', 'title', 'url', 'summary', 'source', 'topic', 'label', 'arm', 'why', 'score', 'rank']) {
        assert.ok(k in i, `card lacks ${k}`);
      }
      assert.equal(typeof i.title, 'string');
      assert.equal(i.arm, i.topic);
      assert.ok(i.why.length > 5);
    }
    const exploring = items.filter((i) => i.label === 'exploring');
    assert.equal(exploring.length, 6, 'a cold start explores');
    for (const i of exploring) assert.match(i.why, new RegExp(`exploring ${i.arm}`));
    assert.ok(new Set(items.map((i) => i.topic)).size >= 3, 'a new user sees several topics');
    const views = (await userEvents(f.pg, 201)).filter((e) => e.signal === 'view');
    assert.deepEqual(views.map((e) => e.entity).sort(), items.map((i) => i.item_id).sort());
    // cards shown again are not new impressions: one view per distinct card
    const again = await f.call('GET', '/feed?user=201&seed=3');
    const distinct = new Set([...items, ...again.body.items].map((i) => i.item_id));
    const views2 = (await userEvents(f.pg, 201)).filter((e) => e.signal === 'view');
    assert.equal(views2.length, distinct.size);
    const { rows } = await f.pg.query('SELECT sum(trials) AS t FROM tidal.arms(201)');
    assert.ok(Math.abs(rows[0].t - distinct.size) < 1e-3, `trials ${rows[0].t}`);
  });

  test('sharpens toward a saved topic: match cards near it, the saved ones gone', async () => {
    const user = 202;
    const [a, b] = byTopic.jazz;
    const before = await f.call('GET', `/feed?user=${user}&seed=1`);
    const jazzBefore = before.body.items.filter((i) => i.topic === 'jazz').length;
    for (const item of [a, b]) {
      assert.equal((await f.call('POST', '/signal', { user_id: user, item_id: item, signal_type: 'save' })).status, 200);
    }
    const res = await f.call('GET', `/feed?user=${user}&seed=1`);
    const jazz = res.body.items.filter((i) => i.topic === 'jazz');
    assert.ok(jazz.length >= 4 && jazz.length > jazzBefore, `jazz cards: ${jazzBefore} -> ${jazz.length}`);
    assert.ok(jazz.some((i) => i.label === 'match'));
    for (const i of res.body.items.filter((x) => x.label === 'match')) {
      assert.equal(i.why, i.arm === 'jazz' ? 'near your interest in jazz' : `${i.arm}, near your interest in jazz`);
    }
    assert.ok(!res.body.items.some((i) => i.item_id === a || i.item_id === b), 'saved items are not served again');
    // with an interest, at most 2 of 7 slots explore; over a few draws they reach other topics.
    // (tidal's Thompson draw may give an explore slot to the interest's own arm: that card is a 'match')
    const explored = new Set();
    for (let seed = 1; seed <= 6; seed += 1) {
      const items = (await f.call('GET', `/feed?user=${user}&seed=${seed}`)).body.items;
      const exploring = items.filter((i) => i.label === 'exploring');
      assert.ok(exploring.length <= 2, `seed ${seed}: ${exploring.length} exploring cards`);
      for (const i of exploring) explored.add(i.topic);
    }
    assert.ok([...explored].some((t) => t !== 'jazz'), `explored: ${[...explored]}`);
  });

  test('the same seed gives the same feed (two users with the same history)', async () => {
    const one = await f.call('GET', '/feed?user=203&seed=42');
    const two = await f.call('GET', '/feed?user=206&seed=42');
    assert.deepEqual(one.body.items.map((i) => i.item_id), two.body.items.map((i) => i.item_id));
  });

  test('limit is 1..50; user is required', async () => {
    assert.equal((await f.call('GET', '/feed?user=204&limit=1')).body.items.length, 1);
    assert.equal((await f.call('GET', '/feed?user=204&limit=50')).body.items.length, 50);
    const before = await logCount(f.pg);
    for (const url of ['/feed?user=205&limit=0', '/feed?user=205&limit=51', '/feed?user=205&limit=x', '/feed', '/feed?user=-1', '/feed?user=abc', '/feed?user=205&bogus=1']) {
      assertRejected(await f.call('GET', url));
    }
    assert.equal(await logCount(f.pg), before, 'a rejected feed records no views');
  });
});

describe('GET /interests', () => {
  test('shows interests, arms and the exploration hit rate', async () => {
    const user = 301;
    const feed = await f.call('GET', `/feed?user=${user}&seed=5`);
    const explored = feed.body.items.find((i) => i.label === 'exploring');
    assert.ok(explored);
    const hit = await f.call('POST', '/signal', { user_id: user, item_id: explored.item_id, signal_type: 'share' });
    assert.equal(hit.body.exploration_hit, true);
    const res = await f.call('GET', `/interests?user=${user}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.interests.map((i) => i.arm), [explored.arm]);
    assert.ok(Math.abs(res.body.interests[0].share - 1) < 1e-9);
    const arm = res.body.arms.find((a) => a.arm === explored.arm);
    assert.ok(arm.successes > 0.99 && arm.trials > 0.99, JSON.stringify(arm));
    const series = res.body.exploration_hit_rate;
    assert.equal(series.length, 1);
    const exploring = feed.body.items.filter((i) => i.label === 'exploring').length;
    assert.deepEqual([series[0].exploring, series[0].hits], [exploring, 1]);
    assert.equal(series[0].rate, 1 / exploring);
    assertRejected(await f.call('GET', '/interests'));
    assertRejected(await f.call('GET', '/interests?user=0'));
  });
});

describe('GET /browse-tasks', () => {
  test('lists every topic with its sources and a priority from the bandit', async () => {
    const res = await f.call('GET', '/browse-tasks');
    assert.equal(res.status, 200);
    assert.equal(typeof res.body.should_run, 'boolean');
    assert.ok(res.body.interval_minutes > 0 && res.body.limit_per_topic > 0);
    const names = res.body.topics.map((t) => t.name);
    for (const t of Object.keys(byTopic)) assert.ok(names.includes(t), `missing ${t}`);
    for (const t of res.body.topics) {
      assert.ok(t.priority >= 0 && t.priority <= 1);
      assert.ok(Array.isArray(t.sources));
    }
    const pr = res.body.topics.map((t) => t.priority);
    assert.deepEqual(pr, [...pr].sort((x, y) => y - x), 'sorted by priority');
    assert.ok(res.body.topics.find((t) => t.name === 'jazz').sources.includes('bluenotes.example'));
  });

  test('per user: a topic the user liked outranks one shown and ignored', async () => {
    const user = 401;
    const feed = await f.call('GET', `/feed?user=${user}&seed=9&limit=10`);
    const byArm = {};
    for (const i of feed.body.items) (byArm[i.arm] ||= []).push(i.item_id);
    const arms = Object.keys(byArm);
    assert.ok(arms.length >= 2);
    const [liked, ignored] = [arms[arms.length - 1], arms[0]];
    await f.call('POST', '/signal', { user_id: user, item_id: byArm[liked][0], signal_type: 'save' });
    const res = await f.call('GET', `/browse-tasks?user=${user}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.user, user);
    const p = Object.fromEntries(res.body.topics.map((t) => [t.name, t.priority]));
    assert.ok(p[liked] > p[ignored], `${liked} ${p[liked]} vs ${ignored} ${p[ignored]}`);
    assertRejected(await f.call('GET', '/browse-tasks?user=abc'));
  });
});

describe('POST /discovery/heartbeat', () => {
  test('records the agent as alive; /health shows when', async () => {
    const count = async () => (await f.pg.query('SELECT count(*)::int AS n FROM forage.heartbeats')).rows[0].n;
    const n = await count();
    const res = await f.call('POST', '/discovery/heartbeat', {});
    assert.equal(res.status, 200);
    assert.equal(res.body.ok, true);
    assert.equal(await count(), n + 1);
    const health = await f.call('GET', '/health');
    assert.ok(Math.abs(new Date(health.body.last_heartbeat) - new Date(res.body.at)) < 1000);
    assertRejected(await f.call('POST', '/discovery/heartbeat', { bogus: 1 }));
    assert.equal(await count(), n + 1);
  });
});

describe('the page and unknown routes', () => {
  test('serves the feed page and its module', async () => {
    const page = await f.app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'], /text\/html/);
    assert.match(page.body, /<script type="module" src="\/app.js">/);
    const js = await f.app.inject({ method: 'GET', url: '/app.js' });
    assert.match(js.headers['content-type'], /javascript/);
  });

  test('an unknown route is a JSON 404', async () => {
    assertRejected(await f.call('GET', '/nope'), 404);
  });
});

describe('when the database fails', () => {
  test('answers 503 with a message instead of crashing, and recovers', async () => {
    const { buildApp } = await import('../src/app.js');
    const pg = await import('pg');
    const real = new pg.default.Pool({ connectionString: f.pg.databaseUrl, max: 2 });
    let down = false;
    const failure = () => Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    const pool = {
      query: (...args) => (down ? Promise.reject(failure()) : real.query(...args)),
      connect: () => (down ? Promise.reject(failure()) : real.connect()),
      end: () => real.end(),
    };
    const app = await buildApp({ pool, embedder: f.embedder });
    try {
      down = true;
      const feed = await app.inject({ method: 'GET', url: '/feed?user=501' });
      assert.equal(feed.statusCode, 503);
      assert.match(feed.json().message, /administrator command/);
      const signal = await app.inject({ method: 'POST', url: '/signal', payload: { user_id: 501, item_id: byTopic.jazz[3], signal_type: 'save' } });
      assert.equal(signal.statusCode, 503);
      const health = await app.inject({ method: 'GET', url: '/health' });
      assert.equal(health.statusCode, 503);
      assert.equal(health.json().ok, false);
      assert.match(health.json().database, /^error: /);
      down = false;
      assert.equal((await app.inject({ method: 'GET', url: '/feed?user=501' })).statusCode, 200);
    } finally {
      await app.close();
      await real.end();
    }
  });
});
