// corpus.js — owns the synthetic corpus: 8 topics × ITEMS_PER_TOPIC items
// with synthetic 100-d embeddings. Real text embeddings are the app's job
// (apps/forage/src/embedder.js); here each topic is a direction and each
// item its topic's direction plus Gaussian noise:
//   topic direction t_k = normalize(sqrt(c)·g + sqrt(1-c)·r_k), g shared, r_k
//   orthonormal directions (Gram–Schmidt of seeded random vectors), so two
//   topics have cosine exactly c = TOPIC_OVERLAP;
//   item = normalize(t_k + σ·N(0, I)), σ = NOISE, so two items of one topic
//   have cosine ≈ 1/(1 + d·σ²) = 0.8 and items of two topics ≈ 0.8·c ≈ 0.1.
// Item ids interleave the topics (id = k·8 + topicIndex + 1), so that a feed
// ranked with no model (ties broken by id) shows mixed topics.
import { streamOf, gaussian } from './rng.js';

export const TOPICS = ['hiking', 'baking', 'jazz', 'astronomy', 'cycling', 'woodworking', 'marine', 'typography'];
export const DIM = 100;
export const ITEMS_PER_TOPIC = 200;
export const NOISE = 0.05;          // 100·0.05² = 0.25 → same-topic cosine ≈ 0.8
export const TOPIC_OVERLAP = 0.125; // topic–topic cosine; items across topics ≈ 0.1

function unit(v) {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}

export function cosine(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s; // inputs are unit vectors
}

// The corpus for a seed: { topics, items: [{ id, topic, topicIndex, embedding }], byId }.
export function makeCorpus(seed) {
  const rand = streamOf(seed, 0xc0);
  const randVec = () => unit(Array.from({ length: DIM }, () => gaussian(rand)));
  // Gram–Schmidt: the shared direction and one own direction per topic, all orthonormal
  const basis = [];
  for (let k = 0; k <= TOPICS.length; k++) {
    let v = randVec();
    for (const b of basis) {
      const d = cosine(v, b);
      v = v.map((x, i) => x - d * b[i]);
    }
    basis.push(unit(v));
  }
  const [common, ...own] = basis;
  const directions = own.map((o) =>
    o.map((x, i) => Math.sqrt(TOPIC_OVERLAP) * common[i] + Math.sqrt(1 - TOPIC_OVERLAP) * x));
  const items = [];
  for (let k = 0; k < ITEMS_PER_TOPIC; k++) {
    for (let t = 0; t < TOPICS.length; t++) {
      const embedding = unit(directions[t].map((x) => x + NOISE * gaussian(rand)));
      items.push({ id: k * TOPICS.length + t + 1, topic: TOPICS[t], topicIndex: t, embedding });
    }
  }
  const byId = new Map(items.map((it) => [it.id, it]));
  return { topics: TOPICS, items, byId };
}

// Mean cosine within and across topics (for the printout and the README).
export function corpusStats(corpus) {
  let same = 0, nSame = 0, cross = 0, nCross = 0;
  const sample = corpus.items.filter((_, i) => i % 3 === 0);
  for (let i = 0; i < sample.length; i++) {
    for (let j = i + 1; j < sample.length; j++) {
      const c = cosine(sample[i].embedding, sample[j].embedding);
      if (sample[i].topic === sample[j].topic) { same += c; nSame++; } else { cross += c; nCross++; }
    }
  }
  return { sameTopicCosine: same / nSame, crossTopicCosine: cross / nCross };
}
