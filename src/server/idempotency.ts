import { createHash } from 'node:crypto';
import { canonicalJson } from '../shared/json.js';
import { DomainError, ErrorCode } from '../shared/errors.js';

/** How long a key remembers the request it was first used with (the IETF draft leaves it to the server). */
const KEY_TTL_MS = 24 * 60 * 60 * 1000;
/** Keys remembered at once; the oldest are forgotten first. */
const MAX_KEYS = 10_000;

/** The request as the client sent it (operations, variables), key order aside: equal requests, equal fingerprints. */
export function requestFingerprint(body: unknown): string {
  let text: string;
  try {
    text = canonicalJson(body);
  } catch {
    text = String(body);
  }
  return createHash('sha256').update(text).digest('base64url');
}

/**
 * Idempotency-Key reuse: a retry must be the same request. The draft
 * (draft-ietf-httpapi-idempotency-key-header) answers a key reused with a
 * different request 422 Unprocessable Content. Each process remembers the
 * keys it saw (per principal and tenant) and their requests' fingerprints;
 * the fingerprint is also part of the command ids (Caller.commandMetadata),
 * so a reuse this process has not seen (another replica, after a restart)
 * can never be mistaken for the first request nor collide with its events.
 */
export class IdempotencyKeys {
  private readonly seen = new Map<string, { fingerprint: string; expires: number }>();

  check(scope: string, key: string, fingerprint: string, now = Date.now()): void {
    const id = `${scope}\n${key}`;
    const known = this.seen.get(id);
    if (known && known.expires > now) {
      if (known.fingerprint !== fingerprint) {
        throw new DomainError(
          ErrorCode.BAD_USER_INPUT,
          'this Idempotency-Key was already used with a different request: send a new key for a new request, or the same request to retry',
          { field: 'Idempotency-Key', reason: 'IDEMPOTENCY_KEY_REUSED' },
        );
      }
      return;
    }
    this.seen.delete(id);
    if (this.seen.size >= MAX_KEYS) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.set(id, { fingerprint, expires: now + KEY_TTL_MS });
  }
}
