/**
 * In-memory EventStore, for unit tests. It follows the same contract as the
 * durable adapters, including JSON round-tripping of data and metadata (so a
 * test cannot pass here with values that SQLite or KurrentDB would mangle).
 *
 * Its argument checks (./validation.ts) and subscription loop
 * (./polling-subscription.ts) are the ones the other adapters use too.
 */
import {
  EventStoreUnavailableError,
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
import { SubscriptionRegistry, createPollingSubscription } from './polling-subscription.js';
import { checkExpectedRevision, validateAppend, validateReadAll, validateReadStream } from './validation.js';

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
