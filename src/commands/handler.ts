import crypto from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import type { Command, Decider, DomainEvent } from '../aggregates/decider.js';
import { WrongExpectedRevisionError, type EventStore, type NewEvent, type RecordedEvent } from '../eventstore/port.js';
import { eventInfo } from '../events/catalog.js';
import type { UpcasterRegistry } from '../events/upcasting.js';
import { conflict } from '../shared/errors.js';

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
}

export interface HandleResult<S> {
  state: S;
  /** Number of events in the stream after the command (the API's `revision`). */
  revision: number;
  /** Global position of the last event written; 0 when the command changed nothing. */
  position: number;
  /** What the command wrote (or, for a retried command, what it wrote the first time). */
  events: NewEvent[];
}

const MAX_ATTEMPTS = 5;

/**
 * Load, fold, decide, append with the expected revision. A conflicting
 * concurrent write is retried (bounded) only when the caller did not pin a
 * revision; a pinned one becomes CONFLICT with the actual revision.
 */
export class CommandHandler {
  /** Observes every append's duration in seconds (metrics). */
  appendObserver: ((seconds: number, outcome: 'ok' | 'conflict' | 'error') => void) | null = null;

  constructor(
    private readonly store: EventStore,
    private readonly upcasters: UpcasterRegistry,
  ) {}

  async load<E extends DomainEvent, S>(
    decider: Pick<Decider<Command, E, S>, 'initialState' | 'evolve'>,
    stream: string,
    until?: (event: RecordedEvent) => boolean,
  ): Promise<{ state: S; revision: number; events: RecordedEvent[] }> {
    const recorded = (await this.store.readStream(stream)).map((e) => this.upcasters.upcast(e));
    let state = decider.initialState();
    let revision = 0;
    const events: RecordedEvent[] = [];
    for (const event of recorded) {
      if (until && !until(event)) break;
      state = decider.evolve(state, event as unknown as E);
      revision = event.streamRevision + 1;
      events.push(event);
    }
    return { state, revision, events };
  }

  async handle<C extends Command, E extends DomainEvent, S>(
    decider: Decider<C, E, S>,
    stream: string,
    command: C,
    options: HandleOptions<S> = {},
  ): Promise<HandleResult<S>> {
    const pinned = options.expectedRevision ?? undefined;
    for (let attempt = 1; ; attempt++) {
      const { state, revision, events } = await this.load(decider, stream);

      // The same command already went through (a client or network retry):
      // answer as the first time did, write nothing.
      const previous = events.filter((e) => e.metadata.commandId === command.metadata.commandId);
      if (previous.length > 0) {
        return { state, revision, position: previous.at(-1)?.position ?? 0, events: previous };
      }

      if (pinned !== undefined && pinned !== revision) {
        throw conflict(`${stream} is at revision ${revision}, not ${pinned}`, revision);
      }
      if (options.authorize) await options.authorize(state);

      const decided = decider.decide(command, state);
      if (decided.length === 0) return { state, revision, position: 0, events: [] };

      const envelopes = decided.map((event, index) => this.envelope(command, event, index));
      const started = performance.now();
      try {
        const result = await this.store.appendToStream(stream, envelopes, {
          expectedRevision: revision === 0 ? 'no_stream' : revision - 1,
        });
        this.appendObserver?.((performance.now() - started) / 1000, 'ok');
        const nextState = decided.reduce((s, e) => decider.evolve(s, e), state);
        return { state: nextState, revision: result.nextExpectedRevision + 1, position: result.position, events: envelopes };
      } catch (error) {
        this.appendObserver?.((performance.now() - started) / 1000, error instanceof WrongExpectedRevisionError ? 'conflict' : 'error');
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        if (pinned !== undefined || attempt >= MAX_ATTEMPTS) {
          throw conflict(`${stream} was changed concurrently`, error.actual + 1);
        }
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
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
