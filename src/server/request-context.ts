import { randomUUID } from 'node:crypto';
import { DocumentStoreOverloadedError, DocumentStoreUnavailableError } from '../readmodels/port.js';
import type { IncomingMessage } from 'node:http';
import type { Application } from '../application/application.js';
import { Caller } from '../application/caller.js';
import type { Services } from '../application/services.js';
import type { Authenticator } from '../auth/authenticator.js';
import { DomainError, ErrorCode, unauthenticated } from '../shared/errors.js';
import type { AuthFailureLimiter } from './rate-limit.js';

/** What identifies a client and its tenant, whatever the transport (HTTP request, WebSocket upgrade, export download). */
export interface RequestInfo {
  authorization: string | undefined;
  ip: string | undefined;
  userAgent: string | undefined;
  correlationId: string | undefined;
  idempotencyKey: string | undefined;
  /** Fingerprint of the request body (GraphQL over HTTP), for Idempotency-Key retries. */
  requestFingerprint?: string | undefined;
  /** `{tenant}` of `/api/v1/{tenant}/...`, if any. */
  pathTenant: string | null;
  /** The X-Tenant-Id header. */
  headerTenant: string | undefined;
  host: string | undefined;
}

export interface ResolvedRequest {
  caller: Caller;
  /** Path, then X-Tenant-Id, then a domain mapped to a tenant; null when none applies. */
  tenantId: string | null;
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * The request's correlation id: the client's X-Correlation-Id (at most 128
 * characters), else a new one, kept on the request so that the response
 * header, the caller, the logs and every error of the request (or of every
 * subscription of a WebSocket, whose upgrade request it is) carry the same.
 */
export function correlationIdOf(req: IncomingMessage): string {
  const given = header(req, 'x-correlation-id')?.slice(0, 128);
  if (given) {
    req.headers['x-correlation-id'] = given;
    return given;
  }
  const generated = randomUUID();
  req.headers['x-correlation-id'] = generated;
  return generated;
}

/** Reads a Node request (Express requests are Node requests too). `pathTenant` comes from the route. */
export function requestInfo(req: IncomingMessage, pathTenant: string | null): RequestInfo {
  return {
    authorization: header(req, 'authorization'),
    ip: req.socket.remoteAddress ?? undefined,
    userAgent: header(req, 'user-agent'),
    correlationId: correlationIdOf(req),
    idempotencyKey: header(req, 'idempotency-key'),
    pathTenant,
    headerTenant: header(req, 'x-tenant-id'),
    host: header(req, 'host'),
  };
}

/** The tenant segment of `/api/v1/{tenant}/<rest>` (query string ignored), or null for `/api/v1/<rest>`. */
export function tenantFromPath(url: string | undefined, rest: string): string | null {
  const pathname = (url ?? '').split('?')[0] ?? '';
  const match = new RegExp(`^/api/v[12]/([^/]+)/${rest}/?$`).exec(pathname);
  return match?.[1] ? decodeURIComponent(match[1]) : null;
}

/**
 * Authenticates a request and picks its tenant, the same way for GraphQL over
 * HTTP, subscriptions over WebSocket and audit exports. Throws
 * UNAUTHENTICATED (with the correlation id the client should quote) when
 * there is no token or nobody accepts it, and RATE_LIMITED when the client's
 * address has spent its failed-authentication budget.
 */
export class RequestResolver {
  /** Told of every refused authentication (metrics), whatever the transport. */
  onAuthenticationFailure: (() => void) | null = null;

  constructor(
    private readonly app: Application,
    private readonly services: Services,
    private readonly authenticator: Authenticator,
    /** The failed-authentication budget per client address (none: unlimited). */
    private readonly failures: AuthFailureLimiter | null = null,
  ) {}

  /**
   * `budget: false` for the periodic re-check of a session already open
   * (session-watch): it is not a new attempt, and a neighbour behind the same
   * address spending the failure budget must not end it.
   */
  async resolve(info: RequestInfo, options: { budget?: boolean } = {}): Promise<ResolvedRequest> {
    const correlationId = info.correlationId?.slice(0, 128) || randomUUID();
    // A damaged log (a corrupt page met while running): no route answers from a state that may be partial —
    // GraphQL, export downloads, WebSocket subscriptions, and the periodic re-check of those already open.
    if (this.app.events.damage?.()) {
      throw new DomainError(
        ErrorCode.SERVICE_UNAVAILABLE,
        'the event log is damaged; the gateway answers nothing until an operator restores it (see /readyz)',
        { correlationId, logDamaged: true },
      );
    }
    const failures = options.budget === false ? null : this.failures;
    await failures?.check(info.ip, correlationId);
    let principal;
    try {
      principal = await this.authenticator.authenticate(info.authorization, { ip: info.ip });
      // No token: nothing in the API is open to anonymous callers (HTTP 401), and it counts as a failed authentication.
      if (principal === null) throw unauthenticated('authentication required: send Authorization: Bearer <token>');
    } catch (error) {
      // An outage while checking a token is not a bad token: the client should retry, not sign in again.
      if (error instanceof DocumentStoreUnavailableError) throw storeUnavailable(error, 'cannot check the token now', correlationId);
      await failures?.fail(info.ip);
      if (options.budget !== false) this.onAuthenticationFailure?.();
      const message = error instanceof Error ? error.message : 'authentication failed';
      throw new DomainError(ErrorCode.UNAUTHENTICATED, message, { correlationId });
    }
    let tenantId = info.pathTenant ?? info.headerTenant ?? null;
    if (tenantId === null) {
      const host = (info.host ?? '').replace(/:\d+$/, '');
      if (host) {
        try {
          tenantId = (await this.services.tenants.byDomain(host))?.id ?? null;
        } catch (error) {
          // Not an authentication failure (401): the client should retry.
          if (error instanceof DocumentStoreUnavailableError)
            throw storeUnavailable(error, 'cannot find the tenant of this host now', correlationId);
          throw error;
        }
      }
    }
    const caller = new Caller(principal, this.app.authorizer, correlationId, {
      ip: info.ip,
      userAgent: info.userAgent?.slice(0, 512),
      idempotencyKey: info.idempotencyKey?.slice(0, 200),
      requestFingerprint: info.requestFingerprint,
    });
    return { caller, tenantId };
  }
}

/** A store that cannot answer now, as SERVICE_UNAVAILABLE; an overloaded one says when to retry (`retryAfterSeconds`). */
function storeUnavailable(error: DocumentStoreUnavailableError, what: string, correlationId: string): DomainError {
  if (error instanceof DocumentStoreOverloadedError) {
    const { retryAfterSeconds } = error;
    return new DomainError(ErrorCode.SERVICE_UNAVAILABLE, `${what}: the read models are overloaded; retry in ${retryAfterSeconds} s`, {
      correlationId,
      retryAfterSeconds,
    });
  }
  return new DomainError(ErrorCode.SERVICE_UNAVAILABLE, `${what}: a backing store is unavailable; retry later`, { correlationId });
}
