import { createClient, type Client } from 'graphql-ws/client';
import { ApiError } from './api.js';
import { AUDIT_LOG_APPENDED, type AuditEntry } from './entries.js';
import type { AuditFilter } from './filters.js';
import { currentToken } from './session.js';

/**
 * graphql-ws closes with 4403 when connection_init carries a token the server
 * refuses, or later when the rights or the tenant are gone; the server closes
 * with 4401 once the token stops authenticating (revoked, expired).
 */
const FORBIDDEN_CLOSE = 4403;
const UNAUTHORIZED_CLOSE = 4401;

export interface FeedHandlers {
  onEntry(entry: AuditEntry): void;
  onError(error: ApiError): void;
}

function socketUrl(path: string): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
}

function errorFrom(value: unknown): ApiError {
  if (Array.isArray(value)) {
    const first = value[0] as { message?: string; extensions?: Record<string, unknown> } | undefined;
    const code = typeof first?.extensions?.['code'] === 'string' ? first.extensions['code'] : 'INTERNAL_SERVER_ERROR';
    return new ApiError(code, first?.message ?? 'subscription failed', first?.extensions ?? {});
  }
  if (value instanceof CloseEvent) {
    if (value.code === UNAUTHORIZED_CLOSE) return new ApiError('UNAUTHENTICATED', 'the token was revoked or has expired');
    return value.code === FORBIDDEN_CLOSE
      ? new ApiError('UNAUTHENTICATED', 'the live connection was refused')
      : new ApiError('NETWORK', `the live connection closed (${value.code})`);
  }
  return new ApiError('NETWORK', 'the live connection failed');
}

/**
 * `auditLogAppended` over graphql-ws at the tenant endpoint. The token goes
 * in connection_init's payload (a browser cannot set headers on a
 * WebSocket). Subscribing after the newest entry shown means nothing that was
 * appended in between is missed, and nothing shown twice.
 */
export function follow(graphqlPath: string, filter: AuditFilter, afterPosition: string | null, handlers: FeedHandlers): () => void {
  const client: Client = createClient({
    url: socketUrl(graphqlPath),
    connectionParams: () => ({ authorization: `Bearer ${currentToken() ?? ''}` }),
    retryAttempts: 0,
    lazy: true,
  });
  let stopped = false;
  const unsubscribe = client.subscribe<{ auditLogAppended: AuditEntry }>(
    { query: AUDIT_LOG_APPENDED, variables: { filter, afterPosition } },
    {
      next: (result) => {
        if (result.errors?.length) handlers.onError(errorFrom(result.errors));
        else if (result.data) handlers.onEntry(result.data.auditLogAppended);
      },
      error: (error) => {
        if (!stopped) handlers.onError(errorFrom(error));
      },
      complete: () => undefined,
    },
  );
  return () => {
    stopped = true;
    unsubscribe();
    void client.dispose();
  };
}

/**
 * One entry by its position, for links to an entry that is not on screen
 * (such as the first broken entry of a chain): the feed replays from the
 * position just before it and the first entry it yields is the one.
 */
export function entryAt(graphqlPath: string, position: string, timeoutMs = 5000): Promise<AuditEntry | null> {
  const after = (BigInt(position) - 1n).toString();
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop();
      outcome();
    };
    const timer = setTimeout(() => settle(() => resolve(null)), timeoutMs);
    const stop = follow(graphqlPath, {}, after, {
      onEntry: (entry) => settle(() => resolve(entry.position === position ? entry : null)),
      onError: (error) => settle(() => reject(error)),
    });
  });
}
