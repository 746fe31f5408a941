import { DomainError, ErrorCode } from '../shared/errors.js';

/** What counts as expensive work, for limits and for error messages. */
export type HeavyKind = 'audit export' | 'audit verification' | 'time travel' | 'tenant rebuild';

export interface HeavySlot {
  /** Gives the slot back (idempotent). */
  release(): void;
}

export interface HeavyWorkLimits {
  /** Expensive operations one tenant may run at once. */
  perTenant: number;
  /** Expensive operations the process runs at once, all tenants together. */
  total: number;
}

/** Seconds a refused caller is told to wait: long enough that a verification or export has moved on. */
const RETRY_AFTER_SECONDS = 2;

/**
 * Fairness between tenants for work whose cost grows with a tenant's data
 * (exports, full verifications, deep time travel): each tenant may run a few
 * at once, and the process a few more in all. Past either limit the request
 * is refused at once with RATE_LIMITED and `retryAfterSeconds`, before any of
 * the work is done, so one tenant's heavy requests neither queue up behind
 * each other nor take every slot from the others.
 */
export class HeavyWork {
  private readonly running = new Map<string, number>();
  private total = 0;
  /** Refusals so far, by kind (metrics). */
  readonly refused = new Map<HeavyKind, number>();

  constructor(private readonly limits: HeavyWorkLimits) {}

  /** Takes a slot or throws RATE_LIMITED. */
  acquire(tenantId: string, kind: HeavyKind): HeavySlot {
    const mine = this.running.get(tenantId) ?? 0;
    if (mine >= this.limits.perTenant || this.total >= this.limits.total) {
      this.refused.set(kind, (this.refused.get(kind) ?? 0) + 1);
      const scope = mine >= this.limits.perTenant ? 'tenant' : 'instance';
      const limit = scope === 'tenant' ? this.limits.perTenant : this.limits.total;
      throw new DomainError(
        ErrorCode.RATE_LIMITED,
        `too many expensive operations at once (${kind}): at most ${limit} per ${scope}; retry in ${RETRY_AFTER_SECONDS} s`,
        { scope, limit, retryAfterSeconds: RETRY_AFTER_SECONDS, kind },
      );
    }
    this.running.set(tenantId, mine + 1);
    this.total++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        const left = (this.running.get(tenantId) ?? 1) - 1;
        if (left <= 0) this.running.delete(tenantId);
        else this.running.set(tenantId, left);
      },
    };
  }

  /** Runs `work` in a slot. */
  async run<T>(tenantId: string, kind: HeavyKind, work: () => Promise<T>): Promise<T> {
    const slot = this.acquire(tenantId, kind);
    try {
      return await work();
    } finally {
      slot.release();
    }
  }

  /** Operations running now (metrics, tests). */
  get active(): number {
    return this.total;
  }
}
