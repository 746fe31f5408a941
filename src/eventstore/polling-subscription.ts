/**
 * A subscription to the whole log for adapters without a push feed of their
 * own (memory and SQLite): it reads from a position in batches, then waits
 * for an append in this process (or polls, for other processes' appends).
 * SubscriptionRegistry closes every open subscription when the store closes.
 */
import type { EventSubscription, ReadAllOptions, RecordedEvent, SubscribeOptions } from './port.js';
import { validateReadAll } from './validation.js';

const DEFAULT_BATCH_SIZE = 500;

export interface PollingSubscriptionSource {
  readAll(options: ReadAllOptions): Promise<RecordedEvent[]>;
  /** Calls `listener` after every append made through this store instance; returns the unregister function. */
  onAppend(listener: () => void): () => void;
  /** Also re-read at this interval, to notice appends made by other processes. Undefined: only on notification. */
  pollIntervalMs?: number | undefined;
}

/**
 * Catch-up subscription over `readAll`: reads batches after the last
 * delivered position; when caught up, sleeps until an in-process append
 * notification or the poll timer, whichever comes first.
 */
export function createPollingSubscription(
  source: PollingSubscriptionSource,
  options: SubscribeOptions,
  onClosed: () => void = () => {},
): EventSubscription {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be an integer >= 1, got ${batchSize}`);
  const { after: start, streamPrefix } = validateReadAll({ after: options.after, streamPrefix: options.streamPrefix });

  let closed = false;
  // Set by the append listener; lets the loop notice an append that landed
  // while a read was in flight (before it started waiting).
  let appendedSinceRead = false;
  let wake: (() => void) | undefined;
  const stopListening = source.onAppend(() => {
    appendedSinceRead = true;
    wake?.();
  });

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    stopListening();
    wake?.();
    onClosed();
  };

  const waitForAppend = (): Promise<void> =>
    new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      wake = () => {
        wake = undefined;
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      };
      if (source.pollIntervalMs !== undefined) {
        timer = setTimeout(wake, source.pollIntervalMs);
        timer.unref();
      }
    });

  async function* batches(): AsyncGenerator<RecordedEvent[], void, undefined> {
    let after = start;
    try {
      while (!closed) {
        appendedSinceRead = false;
        const batch = await source.readAll({ after, maxCount: batchSize, streamPrefix });
        if (closed) return;
        const last = batch.at(-1);
        if (last !== undefined) {
          after = last.position;
          yield batch;
        } else if (!appendedSinceRead) {
          await waitForAppend();
        }
      }
    } finally {
      await close();
    }
  }

  const iterator = batches();
  return {
    [Symbol.asyncIterator]: () => iterator,
    close,
  };
}

/** Tracks live subscriptions so that closing the store ends them. */
export class SubscriptionRegistry {
  private readonly open = new Set<EventSubscription>();

  add(create: (onClosed: () => void) => EventSubscription): EventSubscription {
    const subscription: EventSubscription = create(() => this.open.delete(subscription));
    this.open.add(subscription);
    return subscription;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.open].map((s) => s.close()));
    this.open.clear();
  }
}
