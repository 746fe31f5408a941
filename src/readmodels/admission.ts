import Queue from 'yocto-queue';
import { currentTenant } from './lanes.js';
import { DocumentStoreOverloadedError, type AdmissionStats } from './port.js';

/**
 * Admission control for a networked read-model store (MongoDB): at most
 * `maxInFlight` operations are sent to the server at once; the others wait
 * here, in two queues, instead of in the driver's connection pool.
 *
 * Why: the driver's own wait queue has no bound. When the demand is more
 * than the server serves (a server restarted under load, every projection
 * catching up while clients keep asking), every request read joined that
 * queue, the projections' writes waited behind them, the projections fell
 * further behind, and the queue grew for good (bench/README.md, outage
 * cycles). Here:
 *
 * - background operations (projections, jobs: src/readmodels/lanes.ts) are
 *   never refused and are served first — three of every four freed slots go
 *   to them while both queues wait, so requests are slowed, not starved;
 * - a request's read that finds `maxQueuedReads` reads already waiting (or
 *   half of that of its own tenant) is refused at once
 *   (DocumentStoreOverloadedError: SERVICE_UNAVAILABLE with
 *   `retryAfterSeconds`), which costs the server nothing;
 * - request reads take turns by tenant (round robin), and one tenant's may
 *   hold at most half the slots: another tenant's read finds room however
 *   many slow reads the first has sent;
 * - writes are never refused (a request that got as far as writing a read
 *   model should finish it).
 *
 * A freed slot passes straight to the next waiter, so the queues are FIFO
 * within a lane and no operation overtakes one admitted before it.
 */
export interface AdmissionOptions {
  /** Operations sent to the server at once. Keep it below the driver's pool size. */
  maxInFlight: number;
  /** Request reads that may wait for a slot; one more is refused. */
  maxQueuedReads: number;
  /** What a refused read tells the client to wait. Default 1 s. */
  retryAfterSeconds?: number;
}

export type OperationKind = 'read' | 'write';

/** Of every this many freed slots while both kinds wait, one goes to a request read. */
const BACKGROUND_SHARE = 4;

export class Admission {
  private inFlight = 0;
  private readonly background = new Queue<() => void>();
  /** Request reads waiting, per tenant ('' before the tenant is known). */
  private readonly waitingByTenant = new Map<string, Queue<() => void>>();
  /** Tenants with reads waiting, in turn order: each gets one slot per turn. */
  private readonly turns = new Queue<string>();
  private waitingRequests = 0;
  /** Request reads on the wire, per tenant. */
  private readonly requestsInFlight = new Map<string, number>();
  private refused = 0;
  private backgroundInARow = 0;
  private readonly retryAfterSeconds: number;
  /** One tenant's request reads on the wire at most (half the slots): the other tenants always find room. */
  readonly perTenantInFlight: number;
  /** One tenant's request reads waiting at most (half the queue). */
  readonly perTenantQueued: number;

  constructor(private readonly options: AdmissionOptions) {
    for (const [name, value] of Object.entries({ maxInFlight: options.maxInFlight, maxQueuedReads: options.maxQueuedReads })) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`admission ${name} must be a whole number ≥ 1, got ${value}`);
    }
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1;
    this.perTenantInFlight = Math.max(1, Math.floor(options.maxInFlight / 2));
    this.perTenantQueued = Math.max(1, Math.floor(options.maxQueuedReads / 2));
  }

  /** Runs `operation` once a slot is free; rejects at once with DocumentStoreOverloadedError when a request read cannot even wait. */
  async run<R>(kind: OperationKind, operation: () => Promise<R>): Promise<R> {
    // A request's read takes its tenant's turn; everything else is background work.
    const tenant = kind === 'read' ? currentTenant() : null;
    const waiting = tenant === null ? this.acquireBackground() : this.acquireRequest(tenant);
    if (waiting) await waiting;
    try {
      return await operation();
    } finally {
      this.release(tenant);
    }
  }

  stats(): AdmissionStats {
    return {
      inFlight: this.inFlight,
      waitingBackground: this.background.size,
      waitingRequests: this.waitingRequests,
      refused: this.refused,
    };
  }

  /** Takes a slot (undefined) or a place in the background queue (a promise resolved with the slot). */
  private acquireBackground(): Promise<void> | undefined {
    if (this.inFlight < this.options.maxInFlight) {
      this.inFlight++;
      return undefined;
    }
    return new Promise<void>((resolve) => this.background.enqueue(resolve));
  }

  /** Takes a slot, or a place in the tenant's queue, or refuses (the queue, or the tenant's half of it, is full). */
  private acquireRequest(tenant: string): Promise<void> | undefined {
    const running = this.requestsInFlight.get(tenant) ?? 0;
    if (this.inFlight < this.options.maxInFlight && running < this.perTenantInFlight) {
      this.inFlight++;
      this.requestsInFlight.set(tenant, running + 1);
      return undefined;
    }
    const queue = this.waitingByTenant.get(tenant);
    if (this.waitingRequests >= this.options.maxQueuedReads || (queue?.size ?? 0) >= this.perTenantQueued) {
      this.refused++;
      throw new DocumentStoreOverloadedError(
        `the read-model store is overloaded (${this.inFlight} operations running, ${this.waitingRequests} reads waiting); retry in ${this.retryAfterSeconds} s`,
        this.retryAfterSeconds,
      );
    }
    return new Promise<void>((resolve) => {
      if (queue) queue.enqueue(resolve);
      else {
        const created = new Queue<() => void>();
        created.enqueue(resolve);
        this.waitingByTenant.set(tenant, created);
        this.turns.enqueue(tenant);
      }
      this.waitingRequests++;
    });
  }

  /** Hands the slot to the next waiter (the count of slots does not change), or frees it. */
  private release(tenant: string | null): void {
    if (tenant !== null) {
      const running = (this.requestsInFlight.get(tenant) ?? 1) - 1;
      if (running > 0) this.requestsInFlight.set(tenant, running);
      else this.requestsInFlight.delete(tenant);
    }
    const requestFirst = this.backgroundInARow >= BACKGROUND_SHARE - 1 || this.background.size === 0;
    if (requestFirst) {
      const next = this.nextRequest();
      if (next) {
        this.backgroundInARow = 0;
        return next();
      }
    }
    const next = this.background.dequeue();
    if (next) {
      // Counted only while requests wait: with no one else in line, background work runs as it comes.
      this.backgroundInARow = this.waitingRequests > 0 ? this.backgroundInARow + 1 : 0;
      return next();
    }
    this.inFlight--;
    this.backgroundInARow = 0;
  }

  /** The next tenant in turn with a read waiting and room on the wire; its read takes the slot. */
  private nextRequest(): (() => void) | undefined {
    for (let tenants = this.turns.size; tenants > 0; tenants--) {
      const tenant = this.turns.dequeue() as string;
      const queue = this.waitingByTenant.get(tenant) as Queue<() => void>;
      const running = this.requestsInFlight.get(tenant) ?? 0;
      if (running >= this.perTenantInFlight) {
        // Its half of the slots is taken: it waits for one of its own to finish; the next tenant goes.
        this.turns.enqueue(tenant);
        continue;
      }
      const next = queue.dequeue() as () => void;
      this.waitingRequests--;
      if (queue.size > 0) this.turns.enqueue(tenant);
      else this.waitingByTenant.delete(tenant);
      this.requestsInFlight.set(tenant, running + 1);
      return next;
    }
    return undefined;
  }
}
