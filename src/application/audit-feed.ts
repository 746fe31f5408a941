import { toView, type AuditEntryDocument, type AuditEntryView } from '../projections/audit/audit-entry.js';

/** How far the audit projection has applied the log (a ProjectionRunner). */
export interface AppliedProgress {
  readonly appliedPosition: number;
  /** Resolves once `position` is applied, or after the timeout. */
  waitFor(position: number, timeoutMs: number): Promise<boolean>;
}

/** Whichever runner serves the read model now (a rebuild may switch it under a long-lived subscription). */
export class CurrentRunner implements AppliedProgress {
  constructor(private readonly current: () => AppliedProgress) {}

  get appliedPosition(): number {
    return this.current().appliedPosition;
  }

  waitFor(position: number, timeoutMs: number): Promise<boolean> {
    return this.current().waitFor(position, timeoutMs);
  }
}

export interface FeedSource {
  /** Entries with `after < position <= upTo` matching the subscription, oldest first, at most `limit`. */
  read(after: number, upTo: number, limit: number): Promise<AuditEntryDocument[]>;
  progress: AppliedProgress;
  /** Checked before each read; false ends the feed (the subscriber lost its rights). */
  allowed(): Promise<boolean>;
}

const PAGE = 500;
/** Upper bound of one idle wait; the loop simply looks again afterwards. */
const IDLE_MS = 15_000;

/**
 * A live, gap-free, duplicate-free sequence of audit entries after a position.
 *
 * It only ever reads entries at or below the audit projection's applied
 * position: the projection moves that position after a whole batch is
 * written, so everything below it is complete (a bulk insert in progress may
 * make position 10 visible before 9, but never above the applied position).
 * It remembers how far it has scanned, so resuming after position P yields
 * exactly the entries after P, in order, then follows new ones as they are
 * applied.
 */
export class AuditFeed implements AsyncIterableIterator<AuditEntryView> {
  private buffer: AuditEntryView[] = [];
  private scanned: number;
  private closed = false;
  private wake: (() => void) | null = null;

  constructor(
    private readonly source: FeedSource,
    after: number,
  ) {
    this.scanned = after;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<AuditEntryView>> {
    while (!this.closed) {
      const entry = this.buffer.shift();
      if (entry) return { value: entry, done: false };
      await this.fill();
    }
    return { value: undefined, done: true };
  }

  /** Called when the client unsubscribes or disconnects: stops at once, even while idle. */
  return(): Promise<IteratorResult<AuditEntryView>> {
    this.closed = true;
    this.buffer = [];
    this.wake?.();
    return Promise.resolve({ value: undefined, done: true });
  }

  private async fill(): Promise<void> {
    const applied = this.source.progress.appliedPosition;
    if (applied <= this.scanned) {
      await this.idle(this.scanned);
      return;
    }
    if (!(await this.source.allowed())) {
      this.closed = true;
      return;
    }
    const docs = await this.source.read(this.scanned, applied, PAGE);
    const last = docs.at(-1);
    this.scanned = docs.length === PAGE && last ? last.position : applied;
    if (!this.closed) this.buffer.push(...docs.map(toView));
  }

  private async idle(position: number): Promise<void> {
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      void this.source.progress.waitFor(position + 1, IDLE_MS).then(() => resolve());
    });
    this.wake = null;
  }
}
