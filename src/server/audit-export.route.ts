import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import express, { type Request, type Response } from 'express';
import type { AuditExport, AuditLogFilterInput } from '../application/audit.js';
import { EXPORT_CONTENT_TYPES, exportChunks, isExportFormat } from '../application/audit-export.js';
import type { Services } from '../application/services.js';
import { badInput, DomainError, ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { GraphQLError } from 'graphql';
import type { RateLimiter } from './rate-limit.js';
import { correlationIdOf, requestInfo, type RequestResolver } from './request-context.js';
import type { SessionWatch } from './session-watch.js';

const STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.BAD_USER_INPUT]: 400,
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.TENANT_NOT_FOUND]: 404,
  [ErrorCode.SERVICE_UNAVAILABLE]: 503,
  [ErrorCode.RATE_LIMITED]: 429,
};

function text(req: Request, name: string): string | null {
  const value = req.query[name];
  return typeof value === 'string' && value !== '' ? value : null;
}

function date(req: Request, name: 'from' | 'to'): Date | null {
  const value = text(req, name);
  if (value === null) return null;
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) throw badInput(name, `${name} must be an ISO-8601 date-time such as 2026-01-31T12:00:00Z`);
  return parsed;
}

function filterFrom(req: Request): AuditLogFilterInput {
  return {
    namespace: text(req, 'namespace'),
    resourceType: text(req, 'resourceType'),
    resourceId: text(req, 'resourceId'),
    actorId: text(req, 'actorId'),
    action: text(req, 'action'),
    from: date(req, 'from'),
    to: date(req, 'to'),
  };
}

/** Errors before the first byte answer in GraphQL's error shape with a matching HTTP status; anything unexpected is masked. */
function sendError(req: Request, res: Response, error: unknown, logger: Logger): void {
  // As over GraphQL: every error names the request's correlation id (also in the X-Correlation-Id header).
  const correlationId = correlationIdOf(req);
  if (error instanceof DomainError) {
    const retryAfter = error.extensions['retryAfterSeconds'];
    if (error.code === ErrorCode.RATE_LIMITED && typeof retryAfter === 'number') res.set('Retry-After', String(retryAfter));
    res
      .status(STATUS[error.code] ?? 400)
      .json({ errors: [{ message: error.message, extensions: { ...error.extensions, code: error.code, correlationId } }] });
    return;
  }
  // The rate limiter answers in GraphQL's shape (for Apollo): the same refusal, as plain HTTP.
  if (error instanceof GraphQLError && error.extensions['code'] === ErrorCode.RATE_LIMITED) {
    const { http: _http, ...extensions } = error.extensions;
    const retryAfter = extensions['retryAfterSeconds'];
    res.set('Retry-After', String(typeof retryAfter === 'number' ? retryAfter : 60));
    res.status(429).json({ errors: [{ message: error.message, extensions: { ...extensions, correlationId } }] });
    return;
  }
  logger.error({ err: error, correlationId }, 'audit export failed');
  res.status(500).json({ errors: [{ message: 'internal error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, correlationId } }] });
}

/**
 * `GET /api/v1/{tenant}/audit-logs/export?format=ndjson|csv&from=&to=` (and
 * the other AuditLogFilter fields as query parameters); on
 * `/api/v1/audit-logs/export` an instance admin exports the instance trail.
 * Needs AUDITLOG:EXPORT. Entries stream oldest first straight from a
 * read-model cursor through `pipeline`, which waits for 'drain' whenever the
 * client reads slower than we write, so memory stays flat however many
 * entries there are.
 */
export function auditExportRouter(
  services: Services,
  requests: RequestResolver,
  logger: Logger,
  rateLimiter: RateLimiter,
  sessions: SessionWatch,
): express.Router {
  const router = express.Router();
  const handler = async (req: Request, res: Response): Promise<void> => {
    let chunks: AsyncGenerator<string, number>;
    let format: keyof typeof EXPORT_CONTENT_TYPES;
    let trail: string;
    let exported: AuditExport | null = null;
    const pathTenant = typeof req.params['tenant'] === 'string' ? req.params['tenant'] : null;
    try {
      const { caller, tenantId } = await requests.resolve(requestInfo(req, pathTenant));
      await rateLimiter.admit(caller, tenantId, req.socket.remoteAddress);
      const requested = text(req, 'format') ?? 'ndjson';
      if (!isExportFormat(requested)) throw badInput('format', 'format must be ndjson or csv');
      format = requested;
      trail = services.audit.trail(caller, tenantId);
      exported = await services.audit.exportEntries(caller, trail, filterFrom(req));
      chunks = exportChunks(exported, format);
    } catch (error) {
      exported?.close();
      sendError(req, res, error, logger);
      return;
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    res.status(200);
    res.setHeader('Content-Type', EXPORT_CONTENT_TYPES[format]);
    res.setHeader('Content-Disposition', `attachment; filename="audit-${trail}-${stamp}.${format}"`);
    res.setHeader('Cache-Control', 'no-store');
    // The first rows may take a while on a large trail: the client learns at once that the export started.
    res.flushHeaders();
    // A long download follows revocation like a subscription: the same token and AUDITLOG:EXPORT, re-checked while it runs.
    const exportedTrail = trail;
    const unwatch = sessions.add({
      check: async () => {
        const { caller } = await requests.resolve(requestInfo(req, pathTenant));
        await services.audit.scope(caller, exportedTrail, 'EXPORT');
      },
      end: (code, reason) => {
        logger.info({ trail: exportedTrail, code, reason }, 'audit export cut: access ended');
        res.destroy();
      },
    });
    try {
      await pipeline(Readable.from(chunks), res);
    } catch (error) {
      // The client went away (the cursor is closed by the pipeline), or a store failed mid-stream:
      // the response is cut short, which the client sees as an incomplete download.
      const code = (error as { code?: unknown }).code;
      if (code === 'ERR_STREAM_PREMATURE_CLOSE') logger.debug({ trail }, 'audit export aborted by the client');
      else logger.error({ err: error, trail }, 'audit export failed while streaming');
    } finally {
      unwatch();
      exported.close();
    }
  };
  router.get('/api/v1/audit-logs/export', handler);
  router.get('/api/v1/:tenant/audit-logs/export', handler);
  return router;
}
