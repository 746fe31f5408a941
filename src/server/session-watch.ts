import { DomainError, ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/** WebSocket close codes of a live session that ended (graphql-ws's own codes, so its client does not retry on 4401). */
export const SESSION_CLOSE = {
  /** The credentials no longer authenticate: token revoked or expired, its user or service account gone. */
  UNAUTHENTICATED: 4401,
  /** Still authenticated, but no longer allowed: rights removed, tenant deleted. */
  FORBIDDEN: 4403,
  /** The gateway cannot serve anything now (a damaged event log): WebSocket's "try again later". */
  UNAVAILABLE: 1013,
} as const;

export type SessionCloseCode = (typeof SESSION_CLOSE)[keyof typeof SESSION_CLOSE];

/** A long-lived request (a subscription's socket, an export download). */
export interface LiveSession {
  /** Authenticates and authorizes again, from scratch; throws when the session may not go on. */
  check(): Promise<void>;
  /** Ends the session at once. */
  end(code: SessionCloseCode, reason: string): void;
}

/** What a failed check means for the session: end it (and how), or keep it (the check itself could not be made). */
export function verdict(error: unknown): { code: SessionCloseCode; reason: string } | null {
  if (!(error instanceof DomainError)) return null;
  // Not an outage that passes: the log does not heal by waiting, and nothing may be served from it meanwhile.
  if (error.code === ErrorCode.SERVICE_UNAVAILABLE && error.extensions['logDamaged'] === true) {
    return { code: SESSION_CLOSE.UNAVAILABLE, reason: 'event log damaged' };
  }
  if (error.code === ErrorCode.UNAUTHENTICATED) return { code: SESSION_CLOSE.UNAUTHENTICATED, reason: 'token no longer valid' };
  if (error.code === ErrorCode.FORBIDDEN || error.code === ErrorCode.TENANT_NOT_FOUND || error.code === ErrorCode.NOT_FOUND) {
    return { code: SESSION_CLOSE.FORBIDDEN, reason: 'access revoked' };
  }
  return null;
}

/**
 * Re-checks every live session every `intervalMs`: a session whose token was
 * revoked or expired, whose principal is gone, whose rights were removed or
 * whose tenant was deleted ends within one interval (plus the time its
 * projection takes to apply the change). A check that cannot be made (a
 * store outage) keeps the session and is tried again next time: an outage
 * is not a revocation. Ticks never overlap.
 */
export class SessionWatch {
  private readonly sessions = new Set<LiveSession>();
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  /** Watches a session until the returned function is called (or the session ended). */
  add(session: LiveSession): () => void {
    this.sessions.add(session);
    if (this.timer === null) {
      this.timer = setInterval(() => void this.tick(), this.intervalMs);
      this.timer.unref();
    }
    return () => this.remove(session);
  }

  get size(): number {
    return this.sessions.size;
  }

  private remove(session: LiveSession): void {
    this.sessions.delete(session);
    if (this.sessions.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** One pass over every session, one at a time (a check costs a token lookup and an access computation). */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const session of [...this.sessions]) {
        if (!this.sessions.has(session)) continue;
        try {
          await session.check();
        } catch (error) {
          const ending = verdict(error);
          if (!ending) {
            this.logger.warn({ err: error }, 'could not re-check a live session; it stays open until the next check');
            continue;
          }
          this.remove(session);
          this.logger.info({ code: ending.code, reason: ending.reason }, 'live session ended');
          session.end(ending.code, ending.reason);
        }
      }
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.sessions.clear();
  }
}
