// users.js — owns the synthetic users and how they react. Each user has a
// hidden primary topic (saves its items with probability 0.8), a hidden
// secondary topic (0.5), and every other topic 0.03. An item that is not
// saved and is outside the user's (hidden) interests is skipped with
// probability 0.4; otherwise the user does not react (only the impression).
// Reactions come from a stream keyed by (seed, user, feed, item), so the
// same user reacts the same way to the same card in every strategy.
import { streamOf, hashInts } from './rng.js';

export const P_PRIMARY = 0.8;
export const P_SECONDARY = 0.5;
export const P_OTHER = 0.03;
export const P_SKIP = 0.4;

// n users for a seed: [{ index, primary, secondary }] (topic names).
export function makeUsers(n, topics, seed) {
  const rand = streamOf(seed, 0x05e5);
  const users = [];
  for (let u = 0; u < n; u++) {
    const primary = Math.floor(rand() * topics.length);
    let secondary = Math.floor(rand() * (topics.length - 1));
    if (secondary >= primary) secondary++;
    users.push({ index: u, primary: topics[primary], secondary: topics[secondary] });
  }
  return users;
}

// The probability that the user saves an item of this topic.
export function saveProbability(user, topic) {
  if (topic === user.primary) return P_PRIMARY;
  if (topic === user.secondary) return P_SECONDARY;
  return P_OTHER;
}

// The user's reaction to one card: 'save', 'skip' or null (impression only).
export function react(user, topic, itemId, feed, seed) {
  const rand = streamOf(hashInts(seed, 0x4eac), user.index, feed, itemId);
  const u1 = rand();
  const u2 = rand();
  if (u1 < saveProbability(user, topic)) return 'save';
  const inside = topic === user.primary || topic === user.secondary;
  if (!inside && u2 < P_SKIP) return 'skip';
  return null;
}
