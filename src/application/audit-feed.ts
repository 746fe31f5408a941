import { toView, type AuditEntryDocument, type AuditEntryView } from '../projections/audit/audit-entry.js';
import type { Filter } from '../readmodels/port.js';
import type { EntryPredicate } from './audit-criteria.js';
import type { AuditHub, HubSubscriber } from './audit-hub.js';

/** What a subscription matches, in the three forms the feed needs. */
export interface FeedFilter {
  /** For its own reads from the store (catch-up). */
  readonly query: Filter;
  /** The same, on one entry (live entries the hub offers). */
  readonly matches: EntryPredicate;
  /** Where the hub files it (see criteriaKey). */
  readonly key: string | null;
}

export interface FeedOptions {
  tenantId: string;
  filter: FeedFilter;
  /** Resume after this position; null: from now on. */
  after: number | null;
  /**
   * Called before delivering when the last check is `recheckMs` old: the
   * subscriber's filter now (its visible namespaces may have changed), or
   * null when it lost AUDITLOG:LIST (the feed ends).
   */
  recheck(): Promise<FeedFilter | null>;
}

/**
 * A live, gap-free, duplicate-free sequence of audit entries after a position.
 *
 * The process's AuditHub reads each new entry once and pushes it to every
 * feed it matches. A feed resuming after a position P first reads, itself,
 * the entries after P up to the hub's position when it registered (its
 * `target`), in pages, while what the hub pushes above the target waits in
 * a pending list; then it delivers those and follows live. Everything read
 * is at or below the audit projection's applied position, so complete (the
 * projection moves that position after a whole batch is written).
 *
 * A slow consumer holds at most `bufferLimit` entries (plus one page): on
 * overflow the feed drops what it holds and catches up from the store again
 * from its last delivered position, so nothing is lost or repeated.
 */
export class AuditFeed implements AsyncIterableIterator<AuditEntryView>, HubSubscriber {
  readonly tenantId: string;
  private filter: FeedFilter;
  /** Entries ready to deliver, in order, from `head` on. */
  private queue: AuditEntryDocument[] = [];
  private head = 0;
  /** The highest position queued or delivered: a live push at or below it is not new. */
  private queuedUpTo: number;
  private deliveredUpTo: number;
  /** Catching up: own reads of (after, target]; pushes above the target wait in `pending`. */
  private catchUp: { after: number; target: number } | null = null;
  private pending: AuditEntryDocument[] = [];
  private checkedAt: number;
  private closed = false;
  private failure: { error: unknown } | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly hub: AuditHub,
    private readonly options: FeedOptions,
  ) {
    this.tenantId = options.tenantId;
    this.filter = options.filter;
    this.checkedAt = hub.limits.now();
    const target = hub.register(this);
    const after = options.after ?? target;
    this.queuedUpTo = this.deliveredUpTo = after;
    if (after < target) this.catchUp = { after, target };
  }

  get key(): string | null {
    return this.filter.key;
  }

  readonly matches: EntryPredicate = (doc) => this.filter.matches(doc);

  /** Entries held for the consumer (queued and pending). */
  get held(): number {
    return this.queue.length - this.head + this.pending.length;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  push(doc: AuditEntryDocument): void {
    if (this.closed) return;
    const limit = this.hub.limits.bufferLimit;
    if (this.catchUp) {
      if (doc.position <= this.catchUp.target) return; // its own reads will get it
      if (this.pending.length >= limit) {
        // Read this one and everything before it from the store too.
        this.pending = [];
        this.catchUp.target = doc.position;
        return;
      }
      this.pending.push(doc);
      return;
    }
    if (doc.position <= this.queuedUpTo) return;
    if (this.queue.length - this.head >= limit) {
      // A slow consumer: let go of what it has not taken, and read it again from the store when it asks.
      this.queue = [];
      this.head = 0;
      this.catchUp = { after: this.deliveredUpTo, target: doc.position };
      this.queuedUpTo = this.deliveredUpTo;
      return;
    }
    this.queue.push(doc);
    this.queuedUpTo = doc.position;
    this.wake?.();
  }

  fail(error: unknown): void {
    if (this.closed) return;
    this.failure = { error };
    this.wake?.();
  }

  async next(): Promise<IteratorResult<AuditEntryView>> {
    while (!this.closed) {
      if (this.failure) {
        const { error } = this.failure;
        this.end();
        throw error;
      }
      const ready = this.head < this.queue.length;
      if (!ready && !this.catchUp) {
        await this.idle();
        continue;
      }
      // Before anything is delivered or read: does the subscriber still hold AUDITLOG:LIST?
      if (this.hub.limits.now() - this.checkedAt >= this.hub.limits.recheckMs) {
        await this.recheck();
        continue;
      }
      if (!ready) {
        await this.readPage();
        continue;
      }
      const doc = this.dequeue();
      if (!doc) continue;
      this.deliveredUpTo = doc.position;
      // Its visible namespaces may have narrowed since the entry was queued.
      if (this.filter.matches(doc)) return { value: toView(doc), done: false };
    }
    return { value: undefined, done: true };
  }

  /** Called when the client unsubscribes or disconnects: stops at once, even while idle. */
  return(): Promise<IteratorResult<AuditEntryView>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  private end(): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.unregister(this);
    this.queue = [];
    this.head = 0;
    this.pending = [];
    this.wake?.();
  }

  private dequeue(): AuditEntryDocument | undefined {
    const doc = this.queue[this.head++];
    if (this.head >= this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return doc;
  }

  private async recheck(): Promise<void> {
    const previousKey = this.filter.key;
    const filter = await this.options.recheck();
    if (this.closed) return;
    if (!filter) {
      this.end();
      return;
    }
    this.checkedAt = this.hub.limits.now();
    this.filter = filter;
    if (filter.key !== previousKey) this.hub.refile(this, previousKey);
  }

  /** One page of its own catch-up; at the target, what the hub pushed meanwhile follows and the feed is live. */
  private async readPage(): Promise<void> {
    const catchUp = this.catchUp;
    if (!catchUp) return;
    const { after, target } = catchUp;
    const limit = this.hub.limits.pageSize;
    const docs = await this.hub.read(this.tenantId, this.filter.query, after, target, limit);
    if (this.closed || this.catchUp !== catchUp) return;
    for (const doc of docs) this.queue.push(doc);
    const last = docs.at(-1);
    if (docs.length === limit && last) {
      catchUp.after = last.position;
      this.queuedUpTo = last.position;
      return;
    }
    this.queuedUpTo = target;
    if (target < catchUp.target) {
      // Pending overflowed meanwhile: the target moved up, keep reading.
      catchUp.after = target;
      return;
    }
    this.catchUp = null;
    for (const doc of this.pending) {
      if (doc.position <= this.queuedUpTo) continue;
      this.queue.push(doc);
      this.queuedUpTo = doc.position;
    }
    this.pending = [];
  }

  private async idle(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    this.wake = null;
  }
}
