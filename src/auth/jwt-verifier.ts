import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../config/config.js';
import { USERS, type UserDocument } from '../projections/users/users.projection.js';
import type { ReadModels } from '../projections/read-models.js';
import { TokenRejectedError, type TokenVerifier } from './authenticator.js';
import { BUILT_IN_USER_IDS, type Principal } from './principal.js';

/** Compact JWS: three base64url parts. Anything else is not a JWT and is left to the other verifiers. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/**
 * Accepts JWT bearer tokens signed with the HS256 secret (TENANTRY_JWT_SECRET)
 * or by a key of the JWKS (TENANTRY_JWT_JWKS_URL), with the configured issuer
 * and audience. The claim TENANTRY_JWT_USER_CLAIM (default `sub`) names a
 * tenantry user, who must exist: a JWT proves who someone is, bindings decide
 * what they may do.
 */
export class JwtVerifier implements TokenVerifier {
  private readonly secret: Uint8Array | null;
  private readonly jwks: JWTVerifyGetKey | null;

  constructor(
    private readonly config: Config['jwt'],
    private readonly readModels: ReadModels,
    private readonly now: () => number = Date.now,
  ) {
    this.secret = config.secret === null ? null : new TextEncoder().encode(config.secret);
    this.jwks = config.jwksUrl === null ? null : createRemoteJWKSet(new URL(config.jwksUrl));
  }

  static enabled(config: Config['jwt']): boolean {
    return config.secret !== null || config.jwksUrl !== null;
  }

  async verify(token: string): Promise<Principal | null> {
    if (!COMPACT_JWS.test(token)) return null;
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      return null;
    }
    const claims = await this.verifySignature(token, alg);
    this.checkTimes(claims);
    const userId = claims[this.config.userClaim];
    if (typeof userId !== 'string' || userId === '') {
      throw new TokenRejectedError(`JWT without the ${this.config.userClaim} claim`);
    }
    // The built-in admin and the identity provider's subjects are separate worlds.
    if (BUILT_IN_USER_IDS.has(userId.toLowerCase())) throw new TokenRejectedError('JWT names a built-in user', { userId });
    const user = await this.readModels.instanceCollection<UserDocument>(USERS).findOne({ _id: userId });
    if (!user) throw new TokenRejectedError('JWT of an unknown user', { userId });
    if (user.disabled === true) throw new TokenRejectedError('JWT of a disabled user', { userId });
    return { type: 'USER', id: user.id, instanceAdmin: user.instanceAdmin, via: 'jwt' };
  }

  /**
   * `exp` is required and strict (no tolerance); the token may live at most
   * maxLifetimeSeconds, counted from `iat` (or from now without one), and
   * `iat` may not be in the future by more than the clock skew (jose checks
   * `nbf` with the same skew).
   */
  private checkTimes(claims: Record<string, unknown>): void {
    const now = this.now() / 1000;
    const { exp, iat } = claims;
    if (typeof exp !== 'number') throw new TokenRejectedError('JWT without exp');
    if (exp <= now) throw new TokenRejectedError('expired JWT');
    if (iat !== undefined && (typeof iat !== 'number' || iat > now + this.config.clockSkewSeconds)) {
      throw new TokenRejectedError('JWT issued in the future (iat)');
    }
    const from = typeof iat === 'number' ? iat : now;
    if (exp - from > this.config.maxLifetimeSeconds || exp - now > this.config.maxLifetimeSeconds) {
      throw new TokenRejectedError(`JWT lives longer than ${this.config.maxLifetimeSeconds} s (exp too far after iat)`);
    }
  }

  /** HS256 goes to the shared secret, asymmetric algorithms to the JWKS; nothing else is accepted (no `none`). */
  private async verifySignature(token: string, alg: string | undefined): Promise<Record<string, unknown>> {
    const options = {
      requiredClaims: ['exp'],
      clockTolerance: this.config.clockSkewSeconds,
      ...(this.config.issuer !== null ? { issuer: this.config.issuer } : {}),
      ...(this.config.audience !== null ? { audience: this.config.audience } : {}),
    };
    try {
      if (alg === 'HS256' && this.secret) {
        return (await jwtVerify(token, this.secret, { ...options, algorithms: ['HS256'] })).payload;
      }
      if (alg !== undefined && ASYMMETRIC.includes(alg) && this.jwks) {
        return (await jwtVerify(token, this.jwks, { ...options, algorithms: ASYMMETRIC })).payload;
      }
    } catch (error) {
      throw new TokenRejectedError(rejection(error));
    }
    throw new TokenRejectedError(`JWT signed with an algorithm that is not configured (${String(alg)})`);
  }
}

function rejection(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'expired JWT';
  if (error instanceof errors.JWTClaimValidationFailed) return `JWT claim ${error.claim} failed: ${error.reason}`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'JWT signature does not verify';
  if (error instanceof errors.JOSEError) return `JWT refused (${error.code})`;
  return 'JWT could not be verified (JWKS unreachable?)';
}
