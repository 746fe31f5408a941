import { digestsEqual, sha256 } from './admin-token.js';
import { ADMIN_USER_ID, type Principal } from './principal.js';
import { unauthenticated } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

const REFUSED = 'invalid, expired or revoked token';

/**
 * One way of turning a bearer token into a principal: null = not mine, try
 * the next; TokenRejectedError = mine, and refused.
 */
export interface TokenVerifier {
  verify(token: string): Promise<Principal | null>;
}

/** A verifier recognised the token and refused it. `details` are logged and must never include the token. */
export class TokenRejectedError extends Error {
  override readonly name = 'TokenRejectedError';
  constructor(
    readonly reason: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(reason);
  }
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
      const principal = await this.tryVerifier(verifier, token, context.ip);
      if (principal) return principal;
    }
    this.logger.warn({ ip: context.ip, reason: 'token not recognised by any verifier' }, 'authentication failed');
    throw unauthenticated(REFUSED);
  }

  /** The client learns only that the token was refused; the log says why (never with the token). */
  private async tryVerifier(verifier: TokenVerifier, token: string, ip: string | undefined): Promise<Principal | null> {
    try {
      return await verifier.verify(token);
    } catch (error) {
      if (!(error instanceof TokenRejectedError)) throw error;
      this.logger.warn({ ip, reason: error.reason, ...error.details }, 'authentication failed');
      throw unauthenticated(REFUSED);
    }
  }
}
