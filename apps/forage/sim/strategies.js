// strategies.js — owns the three exploration strategies that fill a feed of
// 7 cards (5 exploitation + 2 exploration):
//   thompson:        tidal.retrieve(lim => 7, explore => 2, seed => s) as is
//                    (Thompson sampling over every arm, inside tidal);
//   epsilon-greedy:  retrieve(lim => 5, explore => 0), then per slot, with
//                    probability ε a uniform arm, else the arm of best
//                    `mean` in tidal.arms (an arm
//                    tidal.arms does not list is untried: Beta(1,1), mean
//                    0.5; ties broken uniformly at random);
//   random:          as epsilon-greedy, the arm always uniform.
// A baseline's explore card is the best remaining item of its arm
// (retrieve with filter => {"topic": arm}), not already in this feed.
import { pick } from './rng.js';
import * as db from './db.js';

export const LIM = 7;
export const EXPLORE = 2;
export const EPSILON = 0.2;
export const STRATEGIES = ['thompson', 'epsilon-greedy', 'random'];

// ctx: { userId, retrieveSeed, rand, interestArms: Set, remaining: Map(topic → items left), topics }
// returns [{ item, arm, explore, label }]
export async function fillFeed(strategy, client, ctx, byId) {
  if (strategy === 'thompson') return thompson(client, ctx, byId);
  return baseline(strategy, client, ctx, byId);
}

async function thompson(client, ctx, byId) {
  const rows = await db.retrieve(client, { user: ctx.userId, lim: LIM, explore: EXPLORE, seed: ctx.retrieveSeed });
  return rows.map((r, i) => ({
    item: r.item_id,
    arm: byId.get(r.item_id).topic,
    // the last EXPLORE rows are the explore slots (label 'exploring' when
    // their arm is not one of the user's interests)
    explore: i >= rows.length - EXPLORE && rows.length === LIM,
    label: r.label,
  }));
}

async function baseline(strategy, client, ctx, byId) {
  const rows = await db.retrieve(client, { user: ctx.userId, lim: LIM - EXPLORE, explore: 0 });
  const cards = rows.map((r) => ({ item: r.item_id, arm: byId.get(r.item_id).topic, explore: false, label: r.label }));
  const inFeed = new Set(cards.map((c) => c.item));
  const left = (t) => ctx.remaining.get(t) - cards.filter((c) => c.arm === t).length;
  let means = null;
  if (strategy === 'epsilon-greedy') {
    means = new Map(ctx.topics.map((t) => [t, 0.5]));
    // rounded: the counts decay in wall-clock time (a run lasts seconds, the
    // half-lives are days), so equal counts differ by ~1e-8; compare them as equal
    for (const a of await db.arms(client, ctx.userId)) {
      if (means.has(a.arm)) means.set(a.arm, Math.round(a.mean * 1e6) / 1e6);
    }
  }
  for (let slot = 0; slot < EXPLORE; slot++) {
    const candidates = ctx.topics.filter((t) => left(t) > 0);
    if (candidates.length === 0) break;
    let arm;
    if (strategy === 'random' || ctx.rand() < EPSILON) {
      arm = pick(ctx.rand, candidates);
    } else {
      const best = Math.max(...candidates.map((t) => means.get(t)));
      arm = pick(ctx.rand, candidates.filter((t) => means.get(t) === best));
    }
    const options = await db.retrieve(client, { user: ctx.userId, lim: LIM, explore: 0, filter: { topic: arm } });
    const chosen = options.find((r) => !inFeed.has(r.item_id));
    if (!chosen) break;
    inFeed.add(chosen.item_id);
    cards.push({ item: chosen.item_id, arm, explore: true, label: 'exploring' });
  }
  return cards;
}
