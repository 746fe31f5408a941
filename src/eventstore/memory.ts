/**
 * In-memory EventStore, for unit tests. It follows the same contract as the
 * durable adapters, including JSON round-tripping of data and metadata (so a
 * test cannot pass here with values that SQLite or KurrentDB would mangle).
 *
 * The subscription loop and the expected-revision check used by the SQLite
 * adapter live here too, so both embedded adapters share one implementation.
 */
import {
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
  type AppendResult,
  type EventStore,
  type EventSubscription,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
} from './port.js';

const DEFAULT_READ_ALL_MAX = 1000;
const DEFAULT_BATCH_SIZE = 500;

// ---------------------------------------------------------------------------
// Helpers shared with the SQLite adapter
// ---------------------------------------------------------------------------

/** Throws WrongExpectedRevisionError unless `actual` (-1: no stream) satisfies `expected`. */
export function checkExpectedRevision(stream: string, expected: ExpectedRevision, actual: number): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && actual === -1) ||
    (expected === 'stream_exists' && actual >= 0) ||
    expected === actual;
  if (!ok) throw new WrongExpectedRevisionError(stream, expected, actual);
}

/** Rejects malformed arguments before anything is written; these are programming errors, not conflicts. */
export function validateAppend(stream: string, events: readonly NewEvent[], expected: ExpectedRevision): void {
  if (typeof stream !== 'string' || stream.length === 0) throw new TypeError('stream name must be a non-empty string');
  if (typeof expected === 'number' && !(Number.isSafeInteger(expected) && expected >= 0)) {
    throw new RangeError(`expectedRevision must be 'no_stream', 'stream_exists', 'any' or an integer >= 0, got ${expected}`);
  }
  if (typeof expected === 'string' && !['no_stream', 'stream_exists', 'any'].includes(expected)) {
    throw new RangeError(`unknown expectedRevision ${JSON.stringify(expected)}`);
  }
  const ids = new Set<string>();
  for (const event of events) {
    if (typeof event.id !== 'string' || event.id.length === 0) throw new TypeError(`event in ${stream} has no id`);
    if (ids.has(event.id)) throw new Error(`event id ${event.id} appears twice in one append to ${stream}`);
    ids.add(event.id);
    if (typeof event.type !== 'string' || event.type.length === 0) throw new TypeError(`event ${event.id} has no type`);
    if (!Number.isSafeInteger(event.schemaVersion)) throw new TypeError(`event ${event.id} has an invalid schemaVersion`);
  }
}

export function validateReadAll(options: ReadAllOptions): { after: number; maxCount: number; streamPrefix: string } {
  const after = options.after ?? 0;
  const maxCount = options.maxCount ?? DEFAULT_READ_ALL_MAX;
  if (!Number.isSafeInteger(after) || after < 0) throw new RangeError(`after must be an integer >= 0, got ${after}`);
  if (!Number.isSafeInteger(maxCount) || maxCount < 0) throw new RangeError(`maxCount must be an integer >= 0, got ${maxCount}`);
  return { after, maxCount, streamPrefix: options.streamPrefix ?? '' };
}

export function validateReadStream(options: ReadStreamOptions): { fromRevision: number; maxCount: number } {
  const fromRevision = options.fromRevision ?? 0;
  const maxCount = options.maxCount ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(fromRevision) || fromRevision < 0) {
    throw new RangeError(`fromRevision must be an integer >= 0, got ${fromRevision}`);
  }
  if (!Number.isSafeInteger(maxCount) || maxCount < 0) throw new RangeError(`maxCount must be an integer >= 0, got ${maxCount}`);
  return { fromRevision, maxCount };
}

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

// ---------------------------------------------------------------------------
// The adapter
// ---------------------------------------------------------------------------

/** Stored as JSON text, like the durable adapters, so every read returns fresh copies. */
interface StoredEvent {
  id: string;
  type: string;
  schemaVersion: number;
  data: string;
  metadata: string;
  streamName: string;
  streamRevision: number;
  position: number;
}

function toRecorded(stored: StoredEvent): RecordedEvent {
  return {
    id: stored.id,
    type: stored.type,
    schemaVersion: stored.schemaVersion,
    data: JSON.parse(stored.data) as unknown,
    metadata: JSON.parse(stored.metadata) as RecordedEvent['metadata'],
    streamName: stored.streamName,
    streamRevision: stored.streamRevision,
    position: stored.position,
  };
}

export class MemoryEventStore implements EventStore {
  readonly kind = 'memory' as const;

  /** The global log; the event at index i has position i + 1. */
  private readonly log: StoredEvent[] = [];
  private readonly streams = new Map<string, StoredEvent[]>();
  private readonly byId = new Map<string, StoredEvent>();
  private readonly listeners = new Set<() => void>();
  private readonly subscriptions = new SubscriptionRegistry();
  private closed = false;

  async appendToStream(
    stream: string,
    events: readonly NewEvent[],
    options: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    this.assertOpen();
    // Everything below is synchronous, so concurrent appends cannot interleave.
    validateAppend(stream, events, options.expectedRevision);
    const existing = this.streams.get(stream) ?? [];

    const retried = this.findRetry(stream, existing, events);
    if (retried) return retried;

    const actual = existing.length - 1;
    checkExpectedRevision(stream, options.expectedRevision, actual);

    if (events.length === 0) {
      return { nextExpectedRevision: actual, position: existing.at(-1)?.position ?? 0 };
    }
    // Validate everything before writing anything: an append is all or nothing.
    for (const event of events) {
      const other = this.byId.get(event.id);
      if (other) throw new Error(`event id ${event.id} is already stored (stream ${other.streamName}, revision ${other.streamRevision})`);
    }
    const stored = events.map((event, index): StoredEvent => ({
      id: event.id,
      type: event.type,
      schemaVersion: event.schemaVersion,
      data: JSON.stringify(event.data) ?? 'null',
      metadata: JSON.stringify(event.metadata),
      streamName: stream,
      streamRevision: actual + 1 + index,
      position: this.log.length + 1 + index,
    }));
    for (const event of stored) {
      this.log.push(event);
      this.byId.set(event.id, event);
    }
    // In place: copying the stream's array on every append would make a long stream quadratic.
    if (existing.length === 0) this.streams.set(stream, stored);
    else existing.push(...stored);
    this.notify();

    const last = stored.at(-1);
    return { nextExpectedRevision: last?.streamRevision ?? actual, position: last?.position ?? 0 };
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const { fromRevision, maxCount } = validateReadStream(options);
    const events = this.streams.get(stream) ?? [];
    return events.slice(fromRevision, fromRevision + maxCount).map(toRecorded);
  }

  async findInStream(stream: string, eventId: string): Promise<RecordedEvent | null> {
    this.assertOpen();
    const event = this.byId.get(eventId);
    return event !== undefined && event.streamName === stream ? toRecorded(event) : null;
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const { after, maxCount, streamPrefix } = validateReadAll(options);
    const result: RecordedEvent[] = [];
    // Positions are 1-based and gap-free, so `after` is also the index to start from.
    for (let i = after; i < this.log.length && result.length < maxCount; i++) {
      const event = this.log[i];
      if (event !== undefined && event.streamName.startsWith(streamPrefix)) result.push(toRecorded(event));
    }
    return result;
  }

  subscribeToAll(options: SubscribeOptions): EventSubscription {
    this.assertOpen();
    return this.subscriptions.add((onClosed) =>
      createPollingSubscription(
        {
          readAll: (o) => this.readAll(o),
          onAppend: (listener) => {
            this.listeners.add(listener);
            return () => this.listeners.delete(listener);
          },
        },
        options,
        onClosed,
      ),
    );
  }

  async headPosition(): Promise<number> {
    this.assertOpen();
    return this.log.length;
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.subscriptions.closeAll();
    this.closed = true;
  }

  /**
   * A retried command (same deterministic ids, stored as one run in this
   * stream) gets the original result back and writes nothing.
   */
  private findRetry(stream: string, existing: readonly StoredEvent[], events: readonly NewEvent[]): AppendResult | undefined {
    const first = events[0];
    if (first === undefined) return undefined;
    const match = this.byId.get(first.id);
    if (match === undefined || match.streamName !== stream) return undefined;
    const run = existing.slice(match.streamRevision, match.streamRevision + events.length);
    if (run.length !== events.length || run.some((stored, i) => stored.id !== events[i]?.id)) return undefined;
    const last = run.at(-1);
    return last && { nextExpectedRevision: last.streamRevision, position: last.position };
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private assertOpen(): void {
    if (this.closed) throw new EventStoreUnavailableError('memory event store is closed');
  }
}
