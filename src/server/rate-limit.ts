/**
 * Requests per minute, per principal and per tenant, counted in this
 * process's memory (rate-limiter-flexible): with several replicas each one
 * counts on its own, so the effective limit is the per-replica limit times
 * the replicas that a client's requests reach.
 */
import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Caller } from '../application/caller.js';
import type { RequestLimits } from '../config/config.js';
import { DomainError, ErrorCode } from '../shared/errors.js';

const WINDOW_SECONDS = 60;

export class RateLimiter {
  private readonly perPrincipal: RateLimiterMemory;
  private readonly perTenant: RateLimiterMemory;

  constructor(limits: Pick<RequestLimits, 'ratePerMinute' | 'tenantRatePerMinute'>) {
    this.perPrincipal = new RateLimiterMemory({ keyPrefix: 'principal', points: limits.ratePerMinute, duration: WINDOW_SECONDS });
    this.perTenant = new RateLimiterMemory({ keyPrefix: 'tenant', points: limits.tenantRatePerMinute, duration: WINDOW_SECONDS });
  }

  /**
   * Counts `operations` requests (a batch counts each of its operations) of
   * this caller into this tenant; throws RATE_LIMITED (HTTP 429 with
   * Retry-After) when either budget is spent. The bootstrap admin is exempt:
   * it is the operator's way in when a tenant's budget is exhausted, e.g. to
   * revoke the runaway token that exhausted it.
   */
  async admit(caller: Caller, tenantId: string | null, ip: string | undefined, operations = 1): Promise<void> {
    const principal = caller.principal;
    if (principal?.type === 'SYSTEM' || (principal?.type === 'USER' && principal.via === 'bootstrap-token')) return;
    // The principal, whatever the tenant: a key per (tenant, principal) would let a
    // client multiply its budget by naming made-up tenants. Anonymous callers count per IP address.
    const who = principal ? `${principal.type}:${principal.id}` : `anonymous:${ip ?? 'unknown'}`;
    await this.consume(this.perPrincipal, who, operations, 'principal', caller.correlationId);
    if (tenantId === null) return;
    try {
      // Second: a principal already refused must not spend its tenant's budget.
      await this.consume(this.perTenant, tenantId, operations, 'tenant', caller.correlationId);
    } catch (error) {
      await this.perPrincipal.reward(who, operations); // refused by the tenant's budget: not the principal's doing
      throw error;
    }
  }

  private async consume(limiter: RateLimiterMemory, key: string, points: number, scope: string, correlationId: string): Promise<void> {
    try {
      await limiter.consume(key, points);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      throw rateLimited(scope, limiter.points, Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)), correlationId);
    }
  }
}

/**
 * Failed authentications (a missing, malformed, unknown, expired or revoked
 * token) per client address, in their own budget: they never spend a
 * principal's or a tenant's. Past the budget the address is refused before
 * its token is even looked at (valid or not) until the window ends, so that
 * guessing tokens, or making the gateway verify signatures for nothing, is
 * slow.
 */
export class AuthFailureLimiter {
  private readonly failures: RateLimiterMemory;

  constructor(limits: Pick<RequestLimits, 'authFailuresPerMinute'>) {
    this.failures = new RateLimiterMemory({ keyPrefix: 'auth-failures', points: limits.authFailuresPerMinute, duration: WINDOW_SECONDS });
  }

  /** Throws RATE_LIMITED (`scope: "address"`) when this address has spent its failures. */
  async check(ip: string | undefined, correlationId: string): Promise<void> {
    const spent = await this.failures.get(ip ?? 'unknown');
    if (spent && spent.consumedPoints >= this.failures.points) {
      const retryAfterSeconds = Math.max(1, Math.ceil(spent.msBeforeNext / 1000));
      throw new DomainError(
        ErrorCode.RATE_LIMITED,
        `too many failed authentications from this address (${this.failures.points} a minute); retry in ${retryAfterSeconds} s`,
        { scope: 'address', limit: this.failures.points, retryAfterSeconds, correlationId },
      );
    }
  }

  /** Counts one failed authentication of this address. */
  async fail(ip: string | undefined): Promise<void> {
    await this.failures.penalty(ip ?? 'unknown', 1);
  }
}

function rateLimited(scope: string, limit: number, retryAfterSeconds: number, correlationId: string): GraphQLError {
  return new GraphQLError(`rate limit of ${limit} requests per minute per ${scope} exceeded; retry in ${retryAfterSeconds} s`, {
    extensions: {
      code: ErrorCode.RATE_LIMITED,
      scope,
      limit,
      retryAfterSeconds,
      correlationId,
      http: { status: 429, headers: new HeaderMap([['retry-after', String(retryAfterSeconds)]]) },
    },
  });
}
