/**
 * Page sizes for loops that read a store page by page on the event loop.
 * A page of small events costs microseconds, but a page of large ones (flow
 * sources run up to 512 KB) held the loop for a hundred milliseconds and
 * more: the embedded log reads and parses a page in one synchronous call,
 * which no time slice can interrupt. The sizer times the synchronous part of
 * each read (the call up to the promise it returns: all of it for SQLite and
 * the memory store, almost none of it for a network store, whose waiting
 * does not hold the loop) and sizes the next page to fit a slice: smaller in
 * proportion when a read took longer, doubled back (up to `max`) while reads
 * take under a quarter of a slice.
 */
import { DEFAULT_SLICE_MS } from './slices.js';

/**
 * The most events a page of the log holds. A sizer learns only after a read
 * that its events were large: after a run of small events it asks for its
 * largest page, and if that page is all large events (a tenant saving 200 KB
 * flow sources, one revision after another), the one read pays for all of
 * them. At 32 events of the largest kind (512 KB) that read is about 16 MB of
 * JSON, tens of milliseconds; a page of 250 was over a hundred. Small events
 * pay one read per 32, a few microseconds each.
 */
export const EVENT_PAGE_MAX = 32;

export interface SizedPage<T> {
  page: T[];
  /** The store returned as many items as asked: there may be more. */
  full: boolean;
}

export class PageSizer {
  private current: number;
  /** Reads made; tests look at the sizes asked for. */
  readonly asked: number[] = [];

  constructor(
    readonly max: number,
    private readonly budgetMs: number = DEFAULT_SLICE_MS,
    start: number = Math.min(max, 16),
  ) {
    this.current = Math.max(1, Math.min(max, start));
  }

  /** The size the next read will ask for. */
  get size(): number {
    return this.current;
  }

  /** Reads one page (of the current size unless told) and adapts the next size to how long this one held the event loop. */
  async read<T>(read: (count: number) => Promise<T[]>, count: number = this.current): Promise<SizedPage<T>> {
    this.asked.push(count);
    if (this.asked.length > 64) this.asked.shift();
    const started = performance.now();
    const pending = read(count);
    this.adapt(count, performance.now() - started);
    const page = await pending;
    return { page, full: page.length >= count };
  }

  private adapt(count: number, blockedMs: number): void {
    if (blockedMs > this.budgetMs) {
      this.current = Math.max(1, Math.min(this.max, Math.floor((count * this.budgetMs) / blockedMs)));
    } else if (blockedMs < this.budgetMs / 4) {
      this.current = Math.min(this.max, Math.max(this.current, count) * 2);
    }
  }
}
