import express, { type Request, type Response } from 'express';
import { GraphQLError } from 'graphql';
import { schemaSdl, schemaSdlV2 } from '../schema/sdl.js';
import { DomainError, ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { RateLimiter } from './rate-limit.js';
import { correlationIdOf, requestInfo, type RequestResolver } from './request-context.js';

/** The path frontends and their tools fetch the schema from; its `.graphql` ending tells loaders to read SDL. */
export const SCHEMA_PATH = '/api/v1/schema.graphql';
/** The v2 API's schema (schema.v2.graphql). */
export const SCHEMA_V2_PATH = '/api/v2/schema.graphql';

const STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.RATE_LIMITED]: 429,
  [ErrorCode.SERVICE_UNAVAILABLE]: 503,
};

/** A refusal in GraphQL's error shape, with the request's correlation id, as the GraphQL endpoints answer it. */
function refuse(req: Request, res: Response, error: unknown, logger: Logger): void {
  const correlationId = correlationIdOf(req);
  const known = error instanceof DomainError || (error instanceof GraphQLError && error.extensions['code'] === ErrorCode.RATE_LIMITED);
  if (!known) {
    logger.error({ err: error, correlationId }, 'schema request failed');
    res.status(500).json({ errors: [{ message: 'internal error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, correlationId } }] });
    return;
  }
  const code = (error instanceof DomainError ? error.code : error.extensions['code']) as ErrorCode;
  const { http: _http, ...extensions } = error.extensions;
  const retryAfter = extensions['retryAfterSeconds'];
  if (typeof retryAfter === 'number') res.set('Retry-After', String(retryAfter));
  res.status(STATUS[code] ?? 400).json({ errors: [{ message: error.message, extensions: { ...extensions, code, correlationId } }] });
}

/**
 * `GET /api/v1/schema.graphql` and `GET /api/v2/schema.graphql`: the schema as SDL (the text of schema.graphql, schema.v2.graphql)
 * for any authenticated principal, whatever its rights, and also where
 * introspection is off (NODE_ENV=production): the schema is no secret from
 * the API's own clients, only from anonymous ones. The token is checked as
 * for a GraphQL request (the same failed-authentication budget), and the
 * request spends one unit of the principal's rate limit.
 *
 * `text/plain; charset=utf-8`: SDL has no registered media type
 * (`application/graphql` was never registered, and the GraphQL-over-HTTP
 * spec dropped it; it meant a query in a request body, not a schema); plain
 * text is what browsers show inline and what every tool reads, and loaders
 * such as graphql-config's tell SDL from an endpoint by the `.graphql` ending.
 */
export function schemaRouter(requests: RequestResolver, rateLimiter: RateLimiter, logger: Logger): express.Router {
  const router = express.Router();
  router.get([SCHEMA_PATH, SCHEMA_V2_PATH], async (req, res) => {
    let sdl: string;
    try {
      const { caller } = await requests.resolve(requestInfo(req, null));
      await rateLimiter.admit(caller, null, req.socket.remoteAddress);
      sdl = await (req.path === SCHEMA_V2_PATH ? schemaSdlV2() : schemaSdl());
    } catch (error) {
      refuse(req, res, error, logger);
      return;
    }
    res.status(200);
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Content-Disposition', `inline; filename="${req.path === SCHEMA_V2_PATH ? 'schema.v2.graphql' : 'schema.graphql'}"`);
    // Only for the authenticated: no shared cache may keep it; the client revalidates with the ETag express sets.
    res.setHeader('Cache-Control', 'private, no-cache');
    res.send(sdl);
  });
  return router;
}
