// HTTP errors raised by Forage's own checks (404 unknown item, 400 bad value)
// and the fastify error handler that turns every error -- validation,
// PostgreSQL, ours -- into {statusCode, error, message} without crashing.
import { httpStatusForPgError, isDatabaseError } from './db.js';
import http from 'node:http';

export class HttpError extends Error {
  constructor(statusCode, message) {
    super(message);
    this.statusCode = statusCode;
  }
}

export const notFound = (message) => new HttpError(404, message);
export const badRequest = (message) => new HttpError(400, message);

export function errorHandler(err, request, reply) {
  let status;
  let message = err.message || 'error';
  if (err.validation) {
    status = 400;
    message = `invalid request: ${err.message}`;
  } else if (err instanceof HttpError) {
    status = err.statusCode;
  } else if (isDatabaseError(err)) {
    status = httpStatusForPgError(err);
    message = `database: ${err.message}${err.hint ? ` (hint: ${err.hint})` : ''}`;
  } else if (Number.isInteger(err.statusCode) && err.statusCode >= 400 && err.statusCode < 600) {
    status = err.statusCode; // fastify's own (bad JSON body, unsupported media type, ...)
  } else {
    status = 500;
  }
  if (status >= 500) request.log.error({ err }, 'request failed');
  reply.status(status).send({ statusCode: status, error: http.STATUS_CODES[status] || 'Error', message });
}
