import crypto from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import type { Command, CommandMetadata, Decider, DomainEvent } from '../aggregates/decider.js';
import { WrongExpectedRevisionError, type EventMetadata, type EventStore, type NewEvent, type RecordedEvent } from '../eventstore/port.js';
import { eventInfo } from '../events/catalog.js';
import type { UpcasterRegistry } from '../events/upcasting.js';
import { conflict } from '../shared/errors.js';
import { EVENT_PAGE_MAX, PageSizer } from '../shared/page-sizer.js';
import { KeyedSerial } from '../shared/keyed-serial.js';
import { Slicer } from '../shared/slices.js';
import { AggregateCache } from './aggregate-cache.js';
import { EMPTY_CURSOR, noSnapshots, SNAPSHOT_EVERY, type Loaded, type SnapshotStore } from './snapshots.js';

/** Fixed namespace for deriving event ids from command ids (UUID v5). */
const EVENT_ID_NAMESPACE = '4f1c3a52-8f0e-4d7b-9b7a-6d1c2e3f4a5b';

const NAMESPACE_BYTES = Buffer.from(EVENT_ID_NAMESPACE.replaceAll('-', ''), 'hex');
const oneShotSha1 = (crypto as { hash?: (algorithm: string, data: Buffer, encoding: 'buffer') => Buffer }).hash;

/**
 * RFC 4122 version 5 (SHA-1, name-based), as `uuid`'s v5 computes it, with
 * the namespace parsed once and Node's one-shot hash where it exists: one of
 * these per event written. A unit test holds it equal to `uuid`'s v5.
 */
function uuidV5(name: string): string {
  if (!oneShotSha1) return uuidv5(name, EVENT_ID_NAMESPACE);
  const digest = oneShotSha1('sha1', Buffer.concat([NAMESPACE_BYTES, Buffer.from(name, 'utf8')]), 'buffer');
  digest[6] = (digest[6]! & 0x0f) | 0x50;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = digest.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function eventIdFor(commandId: string, index: number): string {
  return uuidV5(`${commandId}/${index}`);
}

/** Derives a stable id (for a new binding, token, ...) from the command, so a retried command creates the same thing. */
export function derivedId(commandId: string, purpose: string): string {
  return uuidV5(`${commandId}#${purpose}`);
}

export interface HandleOptions<S> {
  /**
   * The aggregate revision the client pinned (`expectedRevision` in the API:
   * the number of events in the stream). A pinned command is never retried.
   */
  expectedRevision?: number | null | undefined;
  /**
   * Runs after the stream is folded and before `decide`: authorization that
   * depends on the current state (e.g. the namespace a binding is on) goes here.
   */
  authorize?: (state: S) => void | Promise<void>;
  /** Slices a long fold (a cold stream); default: a slicer without deadline. */
  slicer?: Slicer;
}

export interface HandleResult<S> {
  state: S;
  /** Number of events in the stream after the command (the API's `revision`). */
  revision: number;
  /** Global position of the last event written; 0 when the command changed nothing. */
  position: number;
  /** What the command wrote (or, for a retried command, what it wrote the first time). */
  events: NewEvent[];
  /** The stream after the command: state, revision, and the times and actor of its newest event. */
  loaded: Loaded<S>;
}

export interface LoadOptions {
  slicer?: Slicer;
}

export interface CommandHandlerOptions {
  /** Stored snapshots; default none (every cold load folds from the first event). */
  snapshots?: SnapshotStore;
  /** Byte budget of the in-process cache of aggregate states. */
  cacheBytes?: number;
  /** Events between two stored snapshots of a stream. */
  snapshotEvery?: number;
  /** Logs snapshot store failures (which only cost speed). */
  onSnapshotError?: (error: unknown) => void;
  /**
   * How long a command without a pinned revision keeps retrying when another
   * process wrote to its stream in between (default 10 s; the request's
   * deadline, through the slicer's signal, ends it sooner).
   */
  conflictRetryMs?: number;
}

const DEFAULT_CONFLICT_RETRY_MS = 10_000;
/** Most events one command writes (the run a retry looks for). */
const MAX_COMMAND_EVENTS = 100;

type Folding<E extends DomainEvent, S> = Pick<Decider<Command, E, S>, 'initialState' | 'evolve' | 'name' | 'stateVersion' | 'weight'>;

/** The cursor after one more event. */
function advance<S>(
  loaded: Loaded<S>,
  state: S,
  event: { type: string; metadata: EventMetadata },
  revision: number,
  position: number,
): Loaded<S> {
  const at = event.metadata.occurredAt;
  return {
    state,
    revision,
    occurredAtMax: at > loaded.occurredAtMax ? at : loaded.occurredAtMax,
    createdAt: event.type.endsWith('Created') ? at : loaded.createdAt,
    lastAt: at,
    lastActorId: event.metadata.actor.id,
    lastPosition: position,
  };
}

/**
 * Load, fold, decide, append with the expected revision. A conflicting
 * concurrent write is retried (bounded) only when the caller did not pin a
 * revision; a pinned one becomes CONFLICT with the actual revision.
 *
 * The cost of a command does not grow with its stream's history: the state
 * comes from an in-process cache (or, cold, from the newest stored snapshot),
 * and only the events after it are read from the log; a retried command is
 * recognised by looking its first event up by id.
 */
export class CommandHandler {
  /** Observes every append's duration in seconds (metrics). */
  appendObserver: ((seconds: number, outcome: 'ok' | 'conflict' | 'error') => void) | null = null;
  private readonly cache: AggregateCache;
  private readonly snapshots: SnapshotStore;
  private readonly snapshotEvery: number;
  private readonly onSnapshotError: (error: unknown) => void;
  private readonly conflictRetryMs: number;
  /** Per stream, the queue of commands this process runs on it: one at a time, so they never race each other. */
  private readonly perStream = new KeyedSerial();

  constructor(
    private readonly store: EventStore,
    private readonly upcasters: UpcasterRegistry,
    options: CommandHandlerOptions = {},
  ) {
    this.cache = new AggregateCache(options.cacheBytes);
    this.snapshots = options.snapshots ?? noSnapshots;
    this.snapshotEvery = options.snapshotEvery ?? SNAPSHOT_EVERY;
    this.onSnapshotError = options.onSnapshotError ?? (() => undefined);
    this.conflictRetryMs = options.conflictRetryMs ?? DEFAULT_CONFLICT_RETRY_MS;
  }

  /** `name@version#upcasters` for a decider that may be snapshotted and cached; null for one that may not. */
  private schemaOf(decider: Folding<DomainEvent, unknown>): string | null {
    if (!decider.name) return null;
    return `${decider.name}@${decider.stateVersion ?? 1}#${this.upcasters.fingerprint()}`;
  }

  private initial<S>(decider: Folding<DomainEvent, S>): Loaded<S> {
    return { ...EMPTY_CURSOR, state: decider.initialState() };
  }

  /** A snapshot read that fails only costs speed. */
  private async snapshot<S>(read: () => Promise<Loaded<unknown> | null>): Promise<Loaded<S> | null> {
    try {
      return (await read()) as Loaded<S> | null;
    } catch (error) {
      this.onSnapshotError(error);
      return null;
    }
  }

  private async saveSnapshots(stream: string, schema: string, taken: readonly Loaded<unknown>[]): Promise<void> {
    if (taken.length === 0) return;
    try {
      await this.snapshots.save(stream, schema, taken);
    } catch (error) {
      this.onSnapshotError(error);
    }
  }

  /**
   * Folds the stream's events after `from`, page by page, yielding to the
   * event loop between slices. With `until`, stops before the first event
   * that occurred after it. Takes a snapshot at every multiple of
   * `snapshotEvery` it passes.
   */
  private async foldFrom<E extends DomainEvent, S>(
    decider: Folding<E, S>,
    stream: string,
    from: Loaded<S>,
    options: {
      until?: string;
      slicer?: Slicer | undefined;
      schema: string | null;
      /** Asked once, when the first page shows the stream is more than one snapshot interval ahead: a closer start, if any. */
      further?: (reached: number) => Promise<Loaded<S> | null>;
    },
  ): Promise<Loaded<S>> {
    const slicer = options.slicer ?? new Slicer();
    const taken: Loaded<unknown>[] = [];
    let loaded = from;
    // At most one snapshot interval is expected after the start (time travel from a snapshot, a warm cache): read that first.
    const sizer = new PageSizer(EVENT_PAGE_MAX);
    let size = options.until === undefined && !options.further ? sizer.size : this.snapshotEvery + 1;
    let asked = false;
    const readFrom = (revision: number) => (maxCount: number) => this.store.readStream(stream, { fromRevision: revision, maxCount });
    try {
      for (; ; size = sizer.size) {
        let { page, full } = await sizer.read(readFrom(loaded.revision), size);
        if (!asked && options.further && full) {
          asked = true;
          const closer = await options.further(loaded.revision + page.length);
          if (closer) {
            loaded = closer;
            ({ page, full } = await sizer.read(readFrom(loaded.revision), size));
          }
        }
        for (const raw of page) {
          const event = this.upcasters.upcast(raw);
          if (options.until !== undefined && event.metadata.occurredAt > options.until) return loaded;
          loaded = advance(loaded, decider.evolve(loaded.state, event as unknown as E), event, event.streamRevision + 1, event.position);
          if (options.schema !== null && loaded.revision % this.snapshotEvery === 0) taken.push(loaded);
          await slicer.tick();
        }
        if (!full) return loaded;
      }
    } finally {
      if (options.schema !== null) await this.saveSnapshots(stream, options.schema, taken);
    }
  }

  /** The stream's current state: from the cache or the newest snapshot, then the events after it. */
  async load<E extends DomainEvent, S>(decider: Folding<E, S>, stream: string, options: LoadOptions = {}): Promise<Loaded<S>> {
    const schema = this.schemaOf(decider);
    // Not cached: from the first event. Most such streams are short (new ones, above all), and
    // for those one read answers; when it comes back full, `further` asks for the newest snapshot.
    const from = (schema === null ? undefined : this.cache.get<S>(stream, schema)) ?? this.initial(decider);
    // A stream longer than one snapshot interval past the start (a cold load, or a cached state
    // another process or an import left behind): the newest snapshot is closer.
    const further = async (reached: number): Promise<Loaded<S> | null> => {
      if (schema === null) return null;
      const latest = await this.snapshot<S>(() => this.snapshots.latest(stream, schema));
      return latest && latest.revision > reached ? latest : null;
    };
    const loaded = await this.foldFrom(decider, stream, from, { slicer: options.slicer, schema, further });
    if (schema !== null) this.remember(decider, stream, schema, loaded);
    return loaded;
  }

  /**
   * The stream as it was at `until`: every event up to the first one that
   * occurred after it. Starts from the newest snapshot of that prefix, so it
   * folds at most `snapshotEvery` events once snapshots exist (a stream never
   * folded before takes them on this first pass).
   */
  async loadAsOf<E extends DomainEvent, S>(
    decider: Folding<E, S>,
    stream: string,
    until: Date | string,
    options: LoadOptions = {},
  ): Promise<Loaded<S>> {
    const limit = typeof until === 'string' ? until : until.toISOString();
    const schema = this.schemaOf(decider);
    let start: Loaded<S> | null = null;
    if (schema !== null) {
      // Both are valid starting points when they are prefixes of the answer: the one further along is cheaper.
      const cached = this.cache.get<S>(stream, schema);
      const snapshot = await this.snapshot<S>(() => this.snapshots.atOrBefore(stream, schema, limit));
      start = cached && cached.occurredAtMax <= limit && cached.revision > (snapshot?.revision ?? -1) ? cached : snapshot;
    }
    return this.foldFrom(decider, stream, start ?? this.initial(decider), { until: limit, slicer: options.slicer, schema });
  }

  /**
   * The events an earlier attempt of this command wrote to the stream, or []
   * when there was none (or the command id is fresh, so there cannot be one).
   */
  async findCommand(stream: string, metadata: CommandMetadata): Promise<RecordedEvent[]> {
    if (metadata.fresh === true) return [];
    const first = await this.store.findInStream(stream, eventIdFor(metadata.commandId, 0));
    if (!first) return [];
    const mine: RecordedEvent[] = [this.upcasters.upcast(first)];
    // Most commands write one event: read the rest of the run a few at a time.
    for (let from = first.streamRevision + 1; mine.length < MAX_COMMAND_EVENTS; from += 8) {
      const more = await this.store.readStream(stream, { fromRevision: from, maxCount: 8 });
      for (const event of more) {
        if (event.metadata.commandId !== metadata.commandId) return mine;
        mine.push(this.upcasters.upcast(event));
      }
      if (more.length < 8) return mine;
    }
    return mine;
  }

  private remember<S>(decider: Folding<DomainEvent, S>, stream: string, schema: string, loaded: Loaded<S>): void {
    this.cache.set(stream, schema, loaded, decider.weight?.(loaded.state) ?? 1024);
  }

  async handle<C extends Command, E extends DomainEvent, S>(
    decider: Decider<C, E, S>,
    stream: string,
    command: C,
    options: HandleOptions<S> = {},
  ): Promise<HandleResult<S>> {
    return this.perStream.run(stream, () => this.handleNow(decider, stream, command, options));
  }

  private async handleNow<C extends Command, E extends DomainEvent, S>(
    decider: Decider<C, E, S>,
    stream: string,
    command: C,
    options: HandleOptions<S>,
  ): Promise<HandleResult<S>> {
    const pinned = options.expectedRevision ?? undefined;
    const schema = this.schemaOf(decider);
    const retryUntil = Date.now() + this.conflictRetryMs;
    for (let attempt = 1; ; attempt++) {
      const loaded = await this.load(decider, stream, { slicer: options.slicer });
      const { state, revision } = loaded;

      // The same command already went through (a client or network retry):
      // answer as the first time did, write nothing.
      const previous = await this.findCommand(stream, command.metadata);
      if (previous.length > 0) {
        return { state, revision, position: previous.at(-1)?.position ?? 0, events: previous, loaded };
      }

      if (pinned !== undefined && pinned !== revision) {
        throw conflict(`${stream} is at revision ${revision}, not ${pinned}`, revision);
      }
      if (options.authorize) await options.authorize(state);

      const decided = decider.decide(command, state);
      if (decided.length === 0) return { state, revision, position: 0, events: [], loaded };

      const envelopes = decided.map((event, index) => this.envelope(command, event, index));
      const started = performance.now();
      try {
        const result = await this.store.appendToStream(stream, envelopes, {
          expectedRevision: revision === 0 ? 'no_stream' : revision - 1,
        });
        this.appendObserver?.((performance.now() - started) / 1000, 'ok');
        const taken: Loaded<unknown>[] = [];
        let next = loaded;
        decided.forEach((event, i) => {
          next = advance(next, decider.evolve(next.state, event), envelopes[i]!, revision + i + 1, result.position);
          if (next.revision % this.snapshotEvery === 0) taken.push(next);
        });
        if (schema !== null) {
          this.remember(decider, stream, schema, next);
          await this.saveSnapshots(stream, schema, taken);
        }
        return { state: next.state, revision: result.nextExpectedRevision + 1, position: result.position, events: envelopes, loaded: next };
      } catch (error) {
        this.appendObserver?.((performance.now() - started) / 1000, error instanceof WrongExpectedRevisionError ? 'conflict' : 'error');
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        // Another process wrote in between: load again and decide again, until the deadline.
        if (pinned !== undefined || Date.now() >= retryUntil || options.slicer?.signal.aborted) {
          throw conflict(`${stream} was changed concurrently`, error.actual + 1);
        }
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 5 * attempt)));
      }
    }
  }

  private envelope<C extends Command>(command: C, event: DomainEvent, index: number): NewEvent {
    const m = command.metadata;
    eventInfo(event.type); // an event type missing from the catalog would escape the audit log
    return {
      id: eventIdFor(m.commandId, index),
      type: event.type,
      schemaVersion: this.upcasters.currentVersion(event.type),
      data: event.data,
      metadata: {
        tenantId: m.tenantId,
        namespace: event.namespace,
        actor: m.actor,
        correlationId: m.correlationId,
        causationId: m.causationId ?? m.commandId,
        commandId: m.commandId,
        occurredAt: m.now,
        ip: m.ip,
        userAgent: m.userAgent,
      },
    };
  }
}
