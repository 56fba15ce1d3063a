// Request validation: JSON bodies are checked strictly (no type coercion: a
// number where a string belongs is an error, unknown properties are errors);
// query strings, which are text by nature, are coerced to their schema types.
import Ajv from 'ajv';

const common = { allErrors: false, removeAdditional: false, useDefaults: true, strict: false };
const strict = new Ajv({ ...common, coerceTypes: false });
const coercing = new Ajv({ ...common, coerceTypes: 'array' });

export function validatorCompiler({ schema, httpPart }) {
  return (httpPart === 'body' ? strict : coercing).compile(schema);
}
