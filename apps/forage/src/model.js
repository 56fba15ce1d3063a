// Forage's model in tidal: its signals (with half-lives and polarities), the
// 'forage' ranking profile, and the rules that turn an API reaction into a
// signal weight. Pure data and small functions; no I/O.

export const SIGNAL_TYPES = ['view', 'dwell', 'save', 'skip', 'share'];

// name -> [half_life, polarity]. view is an impression (the bandit's trial),
// recorded by the app for every card it serves.
export const SIGNALS = {
  view: { halfLife: '1 day', polarity: 0 },
  dwell: { halfLife: '7 days', polarity: 1 },
  save: { halfLife: '14 days', polarity: 1 },
  share: { halfLife: '14 days', polarity: 1 },
  skip: { halfLife: '7 days', polarity: -1 },
};

// Reactions after which the item leaves the user's feed for good
// (tidal.hide_item): a skip, and a save or share (the user has it now).
export const HIDES = new Set(['skip', 'save', 'share']);

// Reactions that count as a hit for the exploration panel.
export const POSITIVE = new Set(['dwell', 'save', 'share']);

export const PROFILE_NAME = 'forage';

// Similarity to the user's interests first; the item's decayed positive
// reactions (all users) as a small, log-damped popularity term. Views are
// left out on purpose: the app records one per served card, and counting
// them would make whatever was shown rank higher the next time.
export const PROFILE_SPEC = {
  terms: [
    { measure: 'interest', weight: 1 },
    { signal: 'save', measure: 'decay_score', transform: 'log1p', weight: 0.1 },
    { signal: 'share', measure: 'decay_score', transform: 'log1p', weight: 0.1 },
    { signal: 'dwell', measure: 'decay_score', transform: 'log1p', weight: 0.05 },
    { signal: 'skip', measure: 'decay_score', transform: 'log1p', weight: -0.1 },
  ],
};

// A full read (30 s) counts as one positive reaction; shorter, in proportion.
export const DWELL_FULL_MS = 30_000;

export function signalWeight(signalType, durationMs) {
  if (signalType === 'dwell') return Math.min(1, durationMs / DWELL_FULL_MS);
  return 1;
}

// Explore slots: about 2 of 7, never all of them.
export function exploreSlots(limit) {
  return Math.max(0, Math.min(limit - 1, Math.round((limit * 2) / 7)));
}

// A user without interests yet: everything but the first slot explores, so
// the first feed spans the topics instead of the first few items of one.
export function coldStartExploreSlots(limit) {
  return Math.max(0, limit - 1);
}

// Items Forage stores in tidal carry this metadata marker, so the feed
// leaves out items other applications keep in the same database.
export const APP_MARKER = { app: 'forage' };
