/**
 * KurrentDB (EventStoreDB) EventStore, the production engine, over gRPC with
 * @kurrent/kurrentdb-client.
 *
 * Mapping to the port:
 * - event id: our deterministic UUID is the KurrentDB event id, so the
 *   server's own idempotency check recognises a retried append;
 * - data: JSON; metadata: our EventMetadata plus `schemaVersion` (and the
 *   `$correlationId` / `$causationId` keys KurrentDB's system projections use);
 * - position: the event's $all commit position as a number (each event of a
 *   gRPC append is committed at its own log position, so positions are
 *   unique and increase along $all; they are not gap-free);
 * - system streams and event types (`$`-prefixed) are never returned.
 *
 * The pure mappings live beside it: kurrentdb-mapping.ts (records, revisions,
 * positions) and kurrentdb-errors.ts (the client's errors → the port's).
 */
import {
  BACKWARDS,
  END,
  FORWARDS,
  KurrentDBClient,
  excludeSystemEvents,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type JSONType,
  type Position,
} from '@kurrent/kurrentdb-client';
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
import { SubscriptionRegistry } from './polling-subscription.js';
import { checkExpectedRevision, validateAppend, validateReadAll, validateReadStream } from './validation.js';
import { isStreamNotFound, mapKurrentError } from './kurrentdb-errors.js';
import {
  allFilter,
  encodeMetadata,
  isSystemEvent,
  readPositionAfter,
  toClientStreamState,
  toPosition,
  toRecordedEvent,
} from './kurrentdb-mapping.js';

export { isStreamNotFound, mapKurrentError, type KurrentErrorContext } from './kurrentdb-errors.js';
export {
  allFilter,
  decodeMetadata,
  encodeMetadata,
  fromClientStreamState,
  isSystemEvent,
  readPositionAfter,
  toClientStreamState,
  toPosition,
  toRecordedEvent,
  type KurrentRecordedEvent,
} from './kurrentdb-mapping.js';

const DEFAULT_BATCH_SIZE = 500;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// ---------------------------------------------------------------------------
// The adapter
// ---------------------------------------------------------------------------

export interface KurrentDbEventStoreOptions {
  /** Deadline for ping(), in ms. Default 5000. */
  pingTimeoutMs?: number;
}

export class KurrentDbEventStore implements EventStore {
  readonly kind = 'kurrentdb' as const;

  private readonly client: KurrentDBClient;
  private readonly subscriptions = new SubscriptionRegistry();
  private readonly pingTimeoutMs: number;
  private closed = false;

  /** `connection`: a connection string (`kurrentdb://host:2113?tls=false`) or a client to use. */
  constructor(connection: string | KurrentDBClient, options: KurrentDbEventStoreOptions = {}) {
    this.client = typeof connection === 'string' ? KurrentDBClient.connectionString(connection) : connection;
    this.pingTimeoutMs = options.pingTimeoutMs ?? 5000;
  }

  async appendToStream(
    stream: string,
    events: readonly NewEvent[],
    options: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    this.assertOpen();
    const { expectedRevision } = options;
    validateAppend(stream, events, expectedRevision);
    const streamState = toClientStreamState(expectedRevision);
    for (const event of events) {
      if (!UUID.test(event.id)) throw new TypeError(`event id ${event.id} is not a UUID; KurrentDB event ids must be UUIDs`);
    }
    const context = { operation: 'append to', stream, expectedRevision };

    if (events.length === 0) return this.checkOnly(stream, expectedRevision);

    const data = events.map((event) =>
      jsonEvent({
        id: event.id,
        type: event.type,
        data: event.data as JSONType,
        metadata: encodeMetadata(event),
      }),
    );
    let result;
    try {
      result = await this.client.appendToStream(stream, data, { streamState });
    } catch (error) {
      throw mapKurrentError(error, context);
    }
    const nextExpectedRevision = Number(result.nextExpectedRevision);
    // The position is missing (or -1 as an unsigned 64-bit value) when older
    // servers answer an idempotent retry; then ask the stream for it.
    const reported = result.position?.commit;
    if (reported !== undefined && reported > 0n && reported <= BigInt(Number.MAX_SAFE_INTEGER)) {
      return { nextExpectedRevision, position: toPosition(reported) };
    }
    const [last] = await this.readStream(stream, { fromRevision: nextExpectedRevision, maxCount: 1 });
    if (last === undefined) throw new Error(`KurrentDB append to ${stream} succeeded but revision ${nextExpectedRevision} cannot be read`);
    return { nextExpectedRevision, position: last.position };
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const { fromRevision, maxCount } = validateReadStream(options);
    if (maxCount === 0) return [];
    const events: RecordedEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(stream, {
        fromRevision: BigInt(fromRevision),
        maxCount,
        direction: FORWARDS,
      })) {
        if (resolved.event !== undefined) events.push(toRecordedEvent(resolved.event));
      }
    } catch (error) {
      if (isStreamNotFound(error)) return [];
      throw mapKurrentError(error, { operation: 'read', stream });
    }
    return events;
  }

  async findInStream(stream: string, eventId: string): Promise<RecordedEvent | null> {
    this.assertOpen();
    try {
      for await (const resolved of this.client.readStream(stream, { fromRevision: END, direction: BACKWARDS })) {
        if (resolved.event?.id === eventId) return toRecordedEvent(resolved.event);
      }
    } catch (error) {
      if (isStreamNotFound(error)) return null;
      throw mapKurrentError(error, { operation: 'read', stream });
    }
    return null;
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const { after, maxCount, streamPrefix } = validateReadAll(options);
    const events: RecordedEvent[] = [];
    if (maxCount === 0) return events;
    const filter = allFilter(streamPrefix);
    let from = readPositionAfter(after);
    let last = after;
    try {
      // System events that slip past the server filter are dropped here, so
      // a page may come back short; read on until maxCount or the end.
      for (;;) {
        // +1: the read includes its start position, which we already have.
        const requested = maxCount - events.length + 1;
        let received = 0;
        let lastRaw: Position | undefined;
        for await (const resolved of this.client.readAll({ fromPosition: from, maxCount: requested, direction: FORWARDS, filter })) {
          received++;
          const event = resolved.event;
          if (event === undefined) continue;
          lastRaw = event.position;
          const position = toPosition(event.position.commit);
          if (position <= last || isSystemEvent(event) || !event.streamId.startsWith(streamPrefix)) continue;
          events.push(toRecordedEvent(event));
          last = position;
          if (events.length >= maxCount) return events;
        }
        if (received < requested || lastRaw === undefined) return events;
        from = lastRaw;
      }
    } catch (error) {
      throw mapKurrentError(error, { operation: 'read $all' });
    }
  }

  subscribeToAll(options: SubscribeOptions): EventSubscription {
    this.assertOpen();
    return this.subscriptions.add((onClosed) => catchUpSubscription(this.client, options, onClosed));
  }

  async headPosition(): Promise<number> {
    this.assertOpen();
    try {
      for await (const resolved of this.client.readAll({ fromPosition: END, direction: BACKWARDS, filter: excludeSystemEvents() })) {
        const event = resolved.event;
        if (event !== undefined && !isSystemEvent(event)) return toPosition(event.position.commit);
      }
    } catch (error) {
      throw mapKurrentError(error, { operation: 'read the head of $all' });
    }
    return 0;
  }

  async ping(): Promise<void> {
    this.assertOpen();
    try {
      for await (const _ of this.client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1, deadline: this.pingTimeoutMs })) {
        break;
      }
    } catch (error) {
      throw mapKurrentError(error, { operation: 'ping' });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.subscriptions.closeAll();
    this.closed = true;
    await this.client.dispose();
  }

  /** An empty append writes nothing but still checks the expectation. */
  private async checkOnly(stream: string, expected: ExpectedRevision): Promise<AppendResult> {
    let last: RecordedEvent | undefined;
    try {
      for await (const resolved of this.client.readStream(stream, { fromRevision: END, direction: BACKWARDS, maxCount: 1 })) {
        if (resolved.event !== undefined) last = toRecordedEvent(resolved.event);
      }
    } catch (error) {
      if (!isStreamNotFound(error)) throw mapKurrentError(error, { operation: 'read', stream });
    }
    const actual = last?.streamRevision ?? -1;
    checkExpectedRevision(stream, expected, actual);
    return { nextExpectedRevision: actual, position: last?.position ?? 0 };
  }

  private assertOpen(): void {
    if (this.closed) throw new EventStoreUnavailableError('KurrentDB event store is closed');
  }
}

/**
 * Adapts the client's catch-up subscription (a Readable of single events)
 * into batches: events are queued as they arrive and each `next()` takes
 * what is queued, up to batchSize. The Readable is paused while the queue is
 * full, so a slow consumer applies backpressure to the server.
 */
function catchUpSubscription(client: KurrentDBClient, options: SubscribeOptions, onClosed: () => void): EventSubscription {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be an integer >= 1, got ${batchSize}`);
  const { after, streamPrefix } = validateReadAll({ after: options.after, streamPrefix: options.streamPrefix });

  const queue: RecordedEvent[] = [];
  let lastQueued = after;
  let failure: Error | undefined;
  let ended = false;
  let closed = false;
  let wake: (() => void) | undefined;
  let subscription: AllStreamSubscription | undefined;
  const notify = (): void => wake?.();

  const onEvent = (resolved: AllStreamResolvedEvent): void => {
    const event = resolved.event;
    if (closed || failure !== undefined || event === undefined || isSystemEvent(event)) return;
    try {
      const position = toPosition(event.position.commit);
      // The server starts at `after` inclusive and may resend after reconnecting.
      if (position <= lastQueued || !event.streamId.startsWith(streamPrefix)) return;
      queue.push(toRecordedEvent(event));
      lastQueued = position;
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    }
    if (queue.length >= batchSize * 2) subscription?.pause();
    notify();
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    notify();
    onClosed();
    if (subscription !== undefined) await subscription.unsubscribe().catch(() => undefined);
  };

  async function* batches(): AsyncGenerator<RecordedEvent[], void, undefined> {
    if (closed) return;
    const sub = client.subscribeToAll({ fromPosition: readPositionAfter(after), filter: allFilter(streamPrefix) });
    subscription = sub;
    sub.on('data', onEvent);
    // Stays registered after close: the stream may still emit while it is torn down.
    sub.on('error', (error: Error) => {
      if (!closed) failure ??= mapKurrentError(error, { operation: 'subscribe to $all' });
      notify();
    });
    const onEnd = (): void => {
      ended = true;
      notify();
    };
    sub.on('end', onEnd);
    sub.on('close', onEnd);
    try {
      while (!closed) {
        if (queue.length > 0) {
          const batch = queue.splice(0, batchSize);
          if (sub.isPaused() && queue.length < batchSize) sub.resume();
          yield batch;
        } else if (failure !== undefined) {
          throw failure;
        } else if (ended) {
          throw new EventStoreUnavailableError('KurrentDB ended the $all subscription');
        } else {
          await new Promise<void>((resolve) => {
            wake = () => {
              wake = undefined;
              resolve();
            };
          });
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
