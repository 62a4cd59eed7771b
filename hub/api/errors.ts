/**
 * Errors with codes, caught at the boundary. One handler logs everything and shows the client
 * a message only for its own mistakes (below 500); a server fault says no more than that.
 */
import type { FastifyError, FastifyInstance, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { isStoreFailure } from '../store/db.ts';

export class ApiError extends Error {
  constructor(public readonly statusCode: number, public readonly code: string, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string) => new ApiError(400, 'BAD_REQUEST', message);
export const unauthorized = (message = 'sign in first: send Authorization: Bearer <token>') => new ApiError(401, 'UNAUTHORIZED', message);
export const forbidden = (message: string) => new ApiError(403, 'FORBIDDEN', message);
export const notFound = (what: string) => new ApiError(404, 'NOT_FOUND', `${what} not found`);
export const conflict = (message: string) => new ApiError(409, 'CONFLICT', message);

/** The body of every error response. */
export const ErrorBodySchema = {
  type: 'object',
  properties: { statusCode: { type: 'integer' }, code: { type: 'string' }, error: { type: 'string' }, message: { type: 'string' } },
  required: ['statusCode', 'error', 'message'],
} as const;

const REASONS: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 429: 'Too Many Requests' };

/**
 * `onStoreFailure` hears a request that failed because the store did (for health); `onRefused`
 * a request refused for who made it (401, 403), for the access log.
 */
export function installErrorHandler(app: FastifyInstance, onStoreFailure: (err: unknown) => void = () => {}, onRefused: (req: FastifyRequest, status: number, message: string) => void = () => {}): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) {
      if (isStoreFailure(err)) onStoreFailure(err);
      req.log.error({ err }, 'request failed');
      return reply.status(status).send({ statusCode: status, code: 'INTERNAL', error: 'Internal Server Error', message: 'internal error; it has been logged' });
    }
    req.log.info({ code: err.code, message: err.message }, 'request refused');
    // Refused for who asked (401, 403), or for a record that is not theirs to see (404 to a signed-in user).
    if (status === 401 || status === 403 || (status === 404 && (req as { principal?: unknown }).principal)) onRefused(req, status, err.message);
    return reply.status(status).send({ statusCode: status, code: err.code ?? 'ERROR', error: REASONS[status] ?? 'Error', message: err.message });
  });
  app.setNotFoundHandler((req, reply) => {
    // An unknown route is not an access to anyone's data: not logged.
    reply.status(404).send({ statusCode: 404, code: 'NOT_FOUND', error: 'Not Found', message: `no route ${req.method} ${req.url}` });
  });
}

/**
 * Turns ajv's errors into one sentence that says what is wrong. A choice among constants
 * (TypeBox writes enums as anyOf of const) becomes "must be one of: a, b, c" instead of one
 * line per alternative.
 */
export function formatValidationErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const choices = new Map<string, unknown[]>();
  const messages: string[] = [];
  for (const e of errors) {
    const path = `${dataVar}${e.instancePath}`;
    if (e.keyword === 'const') {
      const list = choices.get(path) ?? [];
      list.push((e.params as { allowedValue?: unknown }).allowedValue);
      choices.set(path, list);
    } else if (e.keyword === 'anyOf' && choices.has(path)) {
      messages.push(`${path} must be one of: ${(choices.get(path) ?? []).join(', ')}`);
      choices.delete(path);
    } else {
      const params = e.params as { additionalProperty?: string; allowedValues?: unknown[] };
      const extra = params.additionalProperty ? ` (${params.additionalProperty})`
        : params.allowedValues ? `: ${params.allowedValues.join(', ')}` : '';
      messages.push(`${path} ${e.message ?? 'is invalid'}${extra}`);
    }
  }
  for (const [path, list] of choices) messages.push(`${path} must be one of: ${list.join(', ')}`);
  return new ApiError(400, 'FST_ERR_VALIDATION', [...new Set(messages)].join('; '));
}
