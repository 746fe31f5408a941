import Queue from 'yocto-queue';
import { currentLane } from './lanes.js';
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
 * - a request's read that finds `maxQueuedReads` reads already waiting is
 *   refused at once (DocumentStoreOverloadedError: SERVICE_UNAVAILABLE with
 *   `retryAfterSeconds`), which costs the server nothing;
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

/** Of every this many freed slots while both queues wait, one goes to the request queue. */
const BACKGROUND_SHARE = 4;

export class Admission {
  private inFlight = 0;
  private readonly background = new Queue<() => void>();
  private readonly requests = new Queue<() => void>();
  private refused = 0;
  private backgroundInARow = 0;
  private readonly retryAfterSeconds: number;

  constructor(private readonly options: AdmissionOptions) {
    for (const [name, value] of Object.entries({ maxInFlight: options.maxInFlight, maxQueuedReads: options.maxQueuedReads })) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`admission ${name} must be a whole number ≥ 1, got ${value}`);
    }
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1;
  }

  /** Runs `operation` once a slot is free; rejects at once with DocumentStoreOverloadedError when a request read cannot even wait. */
  async run<R>(kind: OperationKind, operation: () => Promise<R>): Promise<R> {
    const waiting = this.acquire(kind);
    if (waiting) await waiting;
    try {
      return await operation();
    } finally {
      this.release();
    }
  }

  stats(): AdmissionStats {
    return {
      inFlight: this.inFlight,
      waitingBackground: this.background.size,
      waitingRequests: this.requests.size,
      refused: this.refused,
    };
  }

  /** Takes a slot (undefined) or a place in a queue (a promise resolved with the slot). */
  private acquire(kind: OperationKind): Promise<void> | undefined {
    if (this.inFlight < this.options.maxInFlight) {
      this.inFlight++;
      return undefined;
    }
    if (kind === 'write' || currentLane() === 'background') {
      return new Promise<void>((resolve) => this.background.enqueue(resolve));
    }
    if (this.requests.size >= this.options.maxQueuedReads) {
      this.refused++;
      throw new DocumentStoreOverloadedError(
        `the read-model store is overloaded (${this.options.maxInFlight} operations running, ${this.requests.size} reads waiting); retry in ${this.retryAfterSeconds} s`,
        this.retryAfterSeconds,
      );
    }
    return new Promise<void>((resolve) => this.requests.enqueue(resolve));
  }

  /** Hands the slot to the next waiter (the count does not change), or frees it. */
  private release(): void {
    let next: (() => void) | undefined;
    let fromRequests = this.backgroundInARow >= BACKGROUND_SHARE - 1 && this.requests.size > 0;
    if (fromRequests) next = this.requests.dequeue();
    else {
      next = this.background.dequeue();
      if (next === undefined) {
        next = this.requests.dequeue();
        fromRequests = true;
      }
    }
    if (next === undefined) {
      this.inFlight--;
      this.backgroundInARow = 0;
      return;
    }
    // Counted only while requests wait: with no one else in line, background work runs as it comes.
    this.backgroundInARow = fromRequests || this.requests.size === 0 ? 0 : this.backgroundInARow + 1;
    next();
  }
}
