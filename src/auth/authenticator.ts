import { digestsEqual, sha256 } from './admin-token.js';
import { ADMIN_USER_ID, type Principal } from './principal.js';
import { unauthenticated } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/** One way of turning a bearer token into a principal; null = not mine, try the next. */
export interface TokenVerifier {
  verify(token: string): Promise<Principal | null>;
}

/**
 * Resolves `Authorization: Bearer …` to a principal. No header → anonymous
 * (every operation then answers UNAUTHENTICATED); a header nobody accepts →
 * UNAUTHENTICATED at once. Tokens never reach a log line.
 */
export class Authenticator {
  constructor(
    private readonly adminTokenHash: Buffer,
    private readonly verifiers: TokenVerifier[],
    private readonly logger: Logger,
  ) {}

  async authenticate(authorization: string | undefined, context: { ip?: string | undefined } = {}): Promise<Principal | null> {
    if (authorization === undefined || authorization === '') return null;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) {
      this.logger.warn({ ip: context.ip, reason: 'malformed authorization header' }, 'authentication failed');
      throw unauthenticated('expected Authorization: Bearer <token>');
    }
    const token = match[1];
    if (digestsEqual(sha256(token), this.adminTokenHash)) {
      return { type: 'USER', id: ADMIN_USER_ID, instanceAdmin: true, via: 'bootstrap-token' };
    }
    for (const verifier of this.verifiers) {
      const principal = await verifier.verify(token);
      if (principal) return principal;
    }
    this.logger.warn({ ip: context.ip, reason: 'unknown, expired or revoked token' }, 'authentication failed');
    throw unauthenticated('invalid, expired or revoked token');
  }
}
