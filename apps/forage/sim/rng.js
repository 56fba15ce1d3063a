// rng.js — owns the simulation's randomness: a seeded PRNG (mulberry32),
// Gaussian draws, and stable hashes that turn (seed, user, feed, item, ...)
// into independent, reproducible streams. Nothing here uses Math.random.

// mulberry32: a small, fast 32-bit PRNG; returns floats in [0, 1).
export function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A 32-bit hash of a list of integers (FNV-1a over their 32-bit words,
// then a murmur3 finalizer): the seed of one independent stream.
export function hashInts(...xs) {
  let h = 0x811c9dc5;
  for (const x of xs) {
    let v = Number(x) >>> 0;
    for (let i = 0; i < 4; i++) {
      h ^= v & 0xff;
      h = Math.imul(h, 0x01000193) >>> 0;
      v >>>= 8;
    }
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

// A PRNG for the stream named by these integers.
export function streamOf(...xs) {
  return mulberry32(hashInts(...xs));
}

// One standard normal draw (Box–Muller) from a PRNG.
export function gaussian(rand) {
  let u = 0;
  while (u === 0) u = rand();
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

// A uniformly random element of a non-empty array.
export function pick(rand, arr) {
  return arr[Math.floor(rand() * arr.length)];
}
