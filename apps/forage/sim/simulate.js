// simulate.js — owns the run: arguments, the feed loop for every
// (strategy, user), the metrics (feeds until the hidden primary topic is
// the user's top interest, exploration regret, exploration hit rate), the
// printed summary with its goals, results.json and the three charts.
//   node apps/forage/sim/simulate.js --users 40 --feeds 15 --seed 7
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashInts, streamOf } from './rng.js';
import { makeCorpus, corpusStats, DIM, ITEMS_PER_TOPIC } from './corpus.js';
import { makeUsers, react, saveProbability } from './users.js';
import { STRATEGIES, fillFeed, LIM, EXPLORE, EPSILON } from './strategies.js';
import * as db from './db.js';
import { writeChart, COLORS } from './plot.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DOCS = path.resolve(HERE, '../../../docs');

function parseArgs(argv) {
  const o = { users: 40, feeds: 30, seed: 7, concurrency: 4, out: path.join(HERE, 'results.json'), plots: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => argv[++i];
    if (a === '--users') o.users = parseInt(val(), 10);
    else if (a === '--feeds') o.feeds = parseInt(val(), 10);
    else if (a === '--seed') o.seed = parseInt(val(), 10);
    else if (a === '--concurrency') o.concurrency = parseInt(val(), 10);
    else if (a === '--out') o.out = path.resolve(val());
    else if (a === '--no-plots') o.plots = false;
    else if (a === '-h' || a === '--help') {
      console.log('usage: node simulate.js [--users N] [--feeds F] [--seed S] [--concurrency C] [--out results.json] [--no-plots]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  for (const k of ['users', 'feeds', 'seed', 'concurrency']) {
    if (!Number.isInteger(o[k]) || o[k] < (k === 'seed' ? 0 : 1)) throw new Error(`--${k} must be a positive integer`);
  }
  return o;
}

// One strategy's feeds for one user, each feed in one transaction.
async function runUser(pool, strategyIndex, strategy, user, corpus, opts) {
  const userId = (strategyIndex + 1) * 100000 + user.index;
  const remaining = new Map(corpus.topics.map((t) => [t, ITEMS_PER_TOPIC]));
  const client = await pool.connect();
  const feeds = [];
  try {
    let before = await db.interests(client, userId);
    for (let f = 1; f <= opts.feeds; f++) {
      const interestArms = new Set(before.map((r) => r.arm));
      const open = corpus.topics.filter((t) => remaining.get(t) > 0);
      const bestP = open.length ? Math.max(...open.map((t) => saveProbability(user, t))) : 0;
      const ctx = {
        userId,
        retrieveSeed: hashInts(opts.seed, user.index, f) & 0x7fffffff,
        rand: streamOf(opts.seed, 0xba5e, strategyIndex, user.index, f),
        interestArms,
        remaining,
        topics: corpus.topics,
      };
      await client.query('BEGIN');
      let cards;
      try {
        cards = await fillFeed(strategy, client, ctx, corpus.byId);
        for (const c of cards) c.reaction = react(user, c.arm, c.item, f, opts.seed);
        await db.recordFeed(client, userId, cards);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
      for (const c of cards) remaining.set(c.arm, remaining.get(c.arm) - 1);
      const after = await db.interests(client, userId);
      const slots = cards.filter((c) => c.explore).map((c) => ({
        item: c.item,
        arm: c.arm,
        label: c.label,
        p: saveProbability(user, c.arm),
        hit: c.reaction === 'save',
        regret: bestP - saveProbability(user, c.arm),
      }));
      feeds.push({
        feed: f,
        cards: cards.length,
        saves: cards.filter((c) => c.reaction === 'save').length,
        skips: cards.filter((c) => c.reaction === 'skip').length,
        shown: cards.map((c) => [c.item, c.arm, c.reaction]),
        interestsBefore: [...interestArms],
        topInterest: after.length ? after[0].arm : null,
        primaryFound: after.length > 0 && after[0].arm === user.primary,
        explore: slots,
        fallbackSlots: slots.filter((s) => s.label !== 'exploring').length,
      });
      before = after;
    }
  } finally {
    client.release();
  }
  return { user: user.index, userId, primary: user.primary, secondary: user.secondary, feeds };
}

async function runAll(pool, users, corpus, opts) {
  const jobs = [];
  STRATEGIES.forEach((s, si) => users.forEach((u) => jobs.push({ s, si, u })));
  const out = Object.fromEntries(STRATEGIES.map((s) => [s, new Array(users.length)]));
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const { s, si, u } = jobs[next++];
      out[s][u.index] = await runUser(pool, si, s, u, corpus, opts);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return out;
}

const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

function metrics(runs, F) {
  const n = runs.length;
  const firstFound = runs.map((r) => {
    const hit = r.feeds.find((f) => f.primaryFound);
    return hit ? hit.feed : null;
  });
  const found = firstFound.filter((x) => x !== null);
  const discovery = [];
  const topIsPrimary = [];
  const hitRate = [];
  const regretPerFeed = [];
  const cumRegret = [];
  let cum = 0;
  for (let f = 1; f <= F; f++) {
    discovery.push(firstFound.filter((x) => x !== null && x <= f).length / n);
    topIsPrimary.push(runs.filter((r) => r.feeds[f - 1].primaryFound).length / n);
    const slots = runs.flatMap((r) => r.feeds[f - 1].explore);
    hitRate.push(slots.length ? slots.filter((s) => s.hit).length / slots.length : 0);
    const reg = mean(runs.map((r) => r.feeds[f - 1].explore.reduce((a, s) => a + s.regret, 0)));
    regretPerFeed.push(reg);
    cum += reg;
    cumRegret.push(cum);
  }
  const third = Math.max(1, Math.floor(F / 3));
  const allSlots = runs.flatMap((r) => r.feeds.flatMap((f) => f.explore));
  return {
    users: n,
    foundUsers: found.length,
    // users who never found it within F feeds count as F + 1 (censored)
    meanFeedsToPrimary: mean(firstFound.map((x) => (x === null ? F + 1 : x))),
    meanFeedsToPrimaryFoundOnly: mean(found),
    discovery,
    topIsPrimary,
    hitRate,
    hitRateFirstThird: mean(hitRate.slice(0, third)),
    hitRateLastThird: mean(hitRate.slice(F - third)),
    regretPerFeed,
    cumRegret,
    totalRegret: cum,
    exploreSlots: allSlots.length,
    exploreHits: allSlots.filter((s) => s.hit).length,
    fallbackSlots: runs.reduce((a, r) => a + r.feeds.reduce((b, f) => b + f.fallbackSlots, 0), 0),
    // diagnostics: users who never found the primary and whose top interest is the secondary
    notFoundTopIsSecondary: runs.filter((r) => !r.feeds.some((f) => f.primaryFound) &&
      r.feeds[F - 1].topInterest === r.secondary).length,
    // feeds until the secondary is one of the user's interests (F + 1 if never)
    meanFeedsToSecondaryInterest: mean(runs.map((r) => {
      const i = r.feeds.findIndex((f, k) => k > 0 && f.interestsBefore.includes(r.secondary));
      return i < 0 ? F + 1 : i;
    })),
    // feeds whose two explore slots went to the same arm
    sameArmBothSlots: runs.reduce((a, r) => a + r.feeds.filter((f) => f.explore.length === 2 &&
      f.explore[0].arm === f.explore[1].arm).length, 0) / (n * F),
  };
}

const fmt = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

function summarize(opts, stats, m, seconds) {
  const t = m.thompson, e = m['epsilon-greedy'], r = m.random;
  const goals = {
    feedsToPrimary: { target: '<= 5 feeds on average (thompson)', value: t.meanFeedsToPrimary, met: t.meanFeedsToPrimary <= 5 },
    regret: {
      target: 'thompson cumulative exploration regret below epsilon-greedy and random',
      value: { thompson: t.totalRegret, 'epsilon-greedy': e.totalRegret, random: r.totalRegret },
      met: t.totalRegret < e.totalRegret && t.totalRegret < r.totalRegret,
    },
    hitRateRises: {
      target: 'thompson exploration hit rate rises: last third of feeds above first third',
      value: { firstThird: t.hitRateFirstThird, lastThird: t.hitRateLastThird },
      met: t.hitRateLastThird > t.hitRateFirstThird,
    },
  };
  const lines = [];
  lines.push(`Forage simulation: ${opts.users} users × ${opts.feeds} feeds × ${STRATEGIES.length} strategies, seed ${opts.seed} (${fmt(seconds, 1)} s)`);
  lines.push(`feed: ${LIM} cards, ${EXPLORE} exploring; epsilon = ${EPSILON}; corpus cosine same topic ${fmt(stats.sameTopicCosine)}, across topics ${fmt(stats.crossTopicCosine)}`);
  lines.push('');
  lines.push('strategy          feeds-to-primary  found  cum.regret  explore hits  hit rate 1st/last third  fallback slots');
  for (const s of STRATEGIES) {
    const x = m[s];
    lines.push(`${s.padEnd(17)} ${fmt(x.meanFeedsToPrimary, 2).padStart(16)}  ${`${x.foundUsers}/${x.users}`.padStart(5)}  ${fmt(x.totalRegret, 2).padStart(10)}  ${`${x.exploreHits}/${x.exploreSlots}`.padStart(12)}  ${`${fmt(x.hitRateFirstThird)} / ${fmt(x.hitRateLastThird)}`.padStart(23)}  ${String(x.fallbackSlots).padStart(14)}`);
  }
  lines.push('');
  for (const s of STRATEGIES) {
    const x = m[s];
    lines.push(`${s}: not found ${x.users - x.foundUsers} (of them, top interest = hidden secondary: ${x.notFoundTopIsSecondary}); ` +
      `mean feed-to-primary of the found ${fmt(x.meanFeedsToPrimaryFoundOnly, 2)}; secondary an interest after ${fmt(x.meanFeedsToSecondaryInterest, 2)} feeds; ` +
      `both explore slots on one arm in ${fmt(100 * x.sameArmBothSlots, 0)}% of feeds`);
  }
  lines.push('');
  lines.push(`thompson hit rate per feed: ${t.hitRate.map((h) => fmt(h, 2)).join(' ')}`);
  lines.push(`thompson regret per feed:   ${t.regretPerFeed.map((h) => fmt(h, 2)).join(' ')}`);
  lines.push('');
  lines.push(`GOAL feeds until primary found <= 5 (thompson; not found counts as ${opts.feeds + 1}): ${fmt(t.meanFeedsToPrimary, 2)} -> ${goals.feedsToPrimary.met ? 'MET' : 'NOT MET'}`);
  lines.push(`GOAL thompson regret below both baselines: ${fmt(t.totalRegret, 2)} vs epsilon-greedy ${fmt(e.totalRegret, 2)}, random ${fmt(r.totalRegret, 2)} -> ${goals.regret.met ? 'MET' : 'NOT MET'}`);
  lines.push(`GOAL thompson hit rate rises (first third -> last third): ${fmt(t.hitRateFirstThird)} -> ${fmt(t.hitRateLastThird)} -> ${goals.hitRateRises.met ? 'MET' : 'NOT MET'}`);
  return { text: lines.join('\n'), goals };
}

function plots(m, F) {
  const xs = Array.from({ length: F }, (_, i) => i + 1);
  const series = (key) => STRATEGIES.map((s) => ({ name: s, color: COLORS[s], points: xs.map((x, i) => [x, m[s][key][i]]) }));
  const pct = (v) => `${Math.round(v * 100)}%`;
  return [
    writeChart(path.join(DOCS, 'forage-sim-regret.png'), {
      title: 'Cumulative exploration regret per strategy',
      subtitle: 'mean per user; regret of a slot = best save probability of an arm with items left − chosen arm\'s',
      xLabel: 'feed (session)', yLabel: 'cumulative regret (save probability)', series: series('cumRegret'),
    }),
    writeChart(path.join(DOCS, 'forage-sim-hit-rate.png'), {
      title: 'Exploration hit rate per feed',
      subtitle: 'share of the 2 exploring cards per feed that the user saved, over all users',
      xLabel: 'feed (session)', yLabel: 'hit rate of exploring cards', series: series('hitRate'),
      yMax: Math.max(0.1, ...STRATEGIES.flatMap((s) => m[s].hitRate)), yFormat: pct,
    }),
    writeChart(path.join(DOCS, 'forage-sim-discovery.png'), {
      title: 'Users whose hidden primary topic was found by feed k',
      subtitle: 'found: the first row of tidal.interests equals the hidden primary topic',
      xLabel: 'feed k', yLabel: 'fraction of users', series: series('discovery'), yMax: 1, yFormat: pct,
    }),
  ];
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const corpus = makeCorpus(opts.seed);
  const users = makeUsers(opts.users, corpus.topics, opts.seed);
  const { pool, stop } = await db.startInstance({ dimensions: DIM, connections: opts.concurrency });
  const onSignal = () => { stop().finally(() => process.exit(130)); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let runs;
  try {
    await db.setupSchema(pool, corpus);
    runs = await runAll(pool, users, corpus, opts);
  } finally {
    await stop();
  }
  const m = Object.fromEntries(STRATEGIES.map((s) => [s, metrics(runs[s], opts.feeds)]));
  const stats = corpusStats(corpus);
  const seconds = (Date.now() - t0) / 1000;
  const { text, goals } = summarize(opts, stats, m, seconds);
  fs.writeFileSync(opts.out, JSON.stringify({
    params: { ...opts, out: undefined, lim: LIM, explore: EXPLORE, epsilon: EPSILON, dimensions: DIM, itemsPerTopic: ITEMS_PER_TOPIC },
    corpus: stats, seconds, goals, metrics: m,
    users: users.map((u) => ({ index: u.index, primary: u.primary, secondary: u.secondary })),
    runs,
  }, null, 1));
  console.log(text);
  console.log(`\nresults: ${path.relative(process.cwd(), opts.out) || opts.out}`);
  if (opts.plots) for (const p of plots(m, opts.feeds)) console.log(`chart:   ${path.relative(process.cwd(), p)}`);
}

main().catch((err) => {
  console.error(err.stack || err.message);
  process.exit(1);
});
