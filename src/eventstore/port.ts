/**
 * The EventStore port. Every adapter (memory, sqlite, kurrentdb) passes the
 * one contract suite in test/contract/eventstore.contract.ts.
 *
 * Positions are the global order of the log ($all commit position in
 * KurrentDB, rowid in SQLite). In SQLite and memory they are also gap-free;
 * KurrentDB positions increase strictly but skip (they are log offsets). They are safe integers: the first event has a
 * position >= 1, and `0` means "before everything". Stream revisions are
 * 0-based, as in KurrentDB: the first event of a stream has revision 0.
 */

/** Who caused an event. */
export interface Actor {
  type: 'USER' | 'SERVICE_ACCOUNT' | 'SYSTEM';
  id: string;
}

export interface EventMetadata {
  tenantId: string;
  /** Present when the event is scoped to a namespace. */
  namespace?: string | undefined;
  actor: Actor;
  correlationId: string;
  causationId?: string | undefined;
  commandId: string;
  /** ISO-8601; the time the command was handled (never read from a clock in a decider). */
  occurredAt: string;
  ip?: string | undefined;
  userAgent?: string | undefined;
}

/** An event about to be appended. */
export interface NewEvent<Type extends string = string, Data = unknown> {
  /** Deterministic: derived from the command id, so a retried append is recognised. */
  id: string;
  type: Type;
  schemaVersion: number;
  data: Data;
  metadata: EventMetadata;
}

/** An event as stored. Treat it as immutable: adapters may hand the same object to several readers. */
export interface RecordedEvent<Type extends string = string, Data = unknown> extends NewEvent<Type, Data> {
  streamName: string;
  streamRevision: number;
  position: number;
}

/**
 * - `'no_stream'`: the stream must not exist yet.
 * - `'stream_exists'`: the stream must hold at least one event.
 * - `'any'`: no check.
 * - a number: the revision of the stream's last event must be exactly this.
 */
export type ExpectedRevision = 'no_stream' | 'stream_exists' | 'any' | number;

export interface AppendResult {
  /** Revision of the last event now in the stream. */
  nextExpectedRevision: number;
  /** Global position of the last appended event. */
  position: number;
}

export interface ReadStreamOptions {
  /** First revision to return (inclusive). Default 0. */
  fromRevision?: number;
  maxCount?: number;
}

export interface ReadAllOptions {
  /** Return events strictly after this position. Default 0 (from the start). */
  after?: number;
  /** Default 1000. */
  maxCount?: number;
  /** Only events whose stream name starts with this prefix (e.g. `acme/`). */
  streamPrefix?: string;
  /**
   * Read what durable storage holds now, past any in-process cache of recent
   * events (verification: the file may have been edited under the process).
   */
  fromStorage?: boolean;
}

export interface SubscribeOptions {
  /** Deliver events strictly after this position. */
  after: number;
  streamPrefix?: string;
  /** Events per delivered batch (max). Default 500. */
  batchSize?: number;
}

/**
 * A catch-up subscription: first every stored event after `after`, then new
 * ones as they are appended. Iterating yields batches in position order.
 * `close()` ends the iteration.
 */
export interface EventSubscription extends AsyncIterable<RecordedEvent[]> {
  close(): Promise<void>;
}

export interface EventStore {
  readonly kind: 'memory' | 'sqlite' | 'kurrentdb';
  /**
   * Appends atomically: all events or none. Throws WrongExpectedRevisionError
   * when the expectation fails. Appending events whose ids are already the
   * last ones in that stream (a retry of the same command) writes nothing and
   * returns the original result.
   */
  appendToStream(stream: string, events: readonly NewEvent[], options: { expectedRevision: ExpectedRevision }): Promise<AppendResult>;
  /** Events of one stream in revision order; [] when the stream does not exist. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /**
   * The event with this id, if it is stored in `stream`; null otherwise.
   * Memory and SQLite look it up by id. KurrentDB has no lookup by event id:
   * it reads the stream backwards, so its cost grows with the distance from
   * the end of the stream (it serves client retries, which come soon after
   * the original command).
   */
  findInStream(stream: string, eventId: string): Promise<RecordedEvent | null>;
  /** Events of every stream in global order. */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  subscribeToAll(options: SubscribeOptions): EventSubscription;
  /** Position of the last stored event (0 when empty). */
  headPosition(): Promise<number>;
  /** Cheap reachability check for /readyz. */
  ping(): Promise<void>;
  /**
   * The damage found in the stored log (a corrupt page, a file that is no
   * longer a database), once a read or write met it; null while none was.
   * It does not heal: the process answers every request SERVICE_UNAVAILABLE
   * until an operator repairs or restores the log and restarts it.
   */
  damage?(): EventLogDamagedError | null;
  close(): Promise<void>;
}

export class WrongExpectedRevisionError extends Error {
  override readonly name = 'WrongExpectedRevisionError';
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    /** Revision of the stream's last event; -1 when the stream does not exist. */
    readonly actual: number,
  ) {
    super(`stream ${stream}: expected revision ${String(expected)}, actual ${actual}`);
  }
}

export class EventStoreUnavailableError extends Error {
  override readonly name: string = 'EventStoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The stored log is damaged (unreadable pages): unavailable until an operator restores it. */
export class EventLogDamagedError extends EventStoreUnavailableError {
  override readonly name = 'EventLogDamagedError';
}

/** Stream names always begin with the tenant, so that one tenant can be read, replayed or exported alone. */
export const INSTANCE_SCOPE = '_instance';

export function streamName(tenantId: string, category: string, ...id: string[]): string {
  return [tenantId, category, ...id].join('/');
}

export function tenantPrefix(tenantId: string): string {
  return `${tenantId}/`;
}

export function parseStreamName(stream: string): { tenantId: string; category: string; id: string } {
  const [tenantId = '', category = '', ...rest] = stream.split('/');
  return { tenantId, category, id: rest.join('/') };
}
