// JSON schemas of Forage's requests (fastify validates with them; additional
// properties are errors, not silently dropped).
import { SIGNAL_TYPES } from '../model.js';

const id = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER };
const text = (max) => ({ type: 'string', minLength: 1, maxLength: max, pattern: '\\S' });

export const signalBody = {
  type: 'object',
  additionalProperties: false,
  required: ['user_id', 'item_id', 'signal_type'],
  properties: {
    user_id: id,
    item_id: id,
    signal_type: { type: 'string', enum: SIGNAL_TYPES },
    duration_ms: { type: 'integer', minimum: 1, maximum: 86_400_000 },
  },
  // dwell needs its duration
  if: { properties: { signal_type: { const: 'dwell' } } },
  then: { required: ['duration_ms'] },
};

export const feedQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['user'],
  properties: {
    user: id,
    limit: { type: 'integer', minimum: 1, maximum: 50, default: 7 },
    seed: { type: 'integer' },
  },
};

export const userQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['user'],
  properties: { user: id },
};

export const optionalUserQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { user: id },
};

export const itemBody = {
  type: 'object',
  additionalProperties: false,
  required: ['url', 'title', 'summary', 'source', 'topic'],
  properties: {
    url: { type: 'string', maxLength: 2048, pattern: '^https?://[^\\s/]+[^\\s]*$' },
    title: text(300),
    summary: text(2000),
    source: text(200),
    topic: text(64),
    tags: { type: 'array', maxItems: 10, items: text(64) },
    content_type: { type: 'string', enum: ['analysis', 'news', 'tutorial', 'opinion', 'review', 'interview', 'research'] },
  },
};

export const heartbeatBody = {
  type: 'object',
  additionalProperties: false,
  properties: { agent: text(100) },
};
