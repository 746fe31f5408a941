import type { RecordedEvent } from '../../eventstore/port.js';
import type { DomainEventType, RecordedDomainEvent } from '../../events/domain-events.js';
import type { Collection, Document, DocumentStore, IndexSpec, WriteOperation } from '../../readmodels/port.js';

/** Every read-model document belongs to one tenant and remembers the last position applied to it. */
export interface ReadModelDocument extends Document {
  tenantId: string;
  _pos: number;
}

/** Resolves a projection's logical collection names to the physical collections it writes. */
export interface ProjectionTarget {
  readonly store: DocumentStore;
  collection<T extends Document = Document>(logicalName: string): Collection<T>;
}

/**
 * A projection consumes the ordered log and maintains read-model collections.
 * `apply` receives only events of the declared types, in position order, and
 * must be idempotent: the runtime delivers at least once.
 *
 * This is the runtime's view, on plain recorded events. A projection of some
 * event types is written with `documentProjection` or `typedProjection`,
 * whose callbacks receive those types' members of the domain union (`EventOf`);
 * the ones that take every event whatever its data (audit, streams, ledger)
 * implement this interface directly.
 */
export interface Projection {
  readonly name: string;
  /** Bump when the read model's shape or logic changes: a new version rebuilds into new collections. */
  readonly version: number;
  readonly eventTypes: ReadonlySet<string>;
  /** Receives the events as stored, without upcasting (the ledger hashes the log itself). */
  readonly raw?: boolean;
  /** Logical collection names with their indexes. */
  readonly collections: Readonly<Record<string, readonly IndexSpec[]>>;
  apply(events: readonly RecordedEvent[], target: ProjectionTarget): Promise<void>;
}

/** The recorded events of the types a projection declares: what its `apply`, `evolve` and `documentId` receive. */
export type EventOf<Types extends readonly DomainEventType[]> = RecordedDomainEvent<Types[number]>;

/**
 * The one place where a recorded event (a `type` string and unknown `data`)
 * becomes a member of the domain union: the runner delivers only events of
 * the declared types, upcast to their current shape, so the type name is
 * what decides. Typed projections narrow through it and cast nothing.
 */
function handledBy<Types extends readonly DomainEventType[]>(
  eventTypes: ReadonlySet<string>,
): (event: RecordedEvent) => event is EventOf<Types> {
  return (event): event is EventOf<Types> => eventTypes.has(event.type);
}

/** A projection's batch as its declared types: the batch itself when every event is one (as the runner delivers it). */
function narrowBatch<E extends RecordedEvent>(
  events: readonly RecordedEvent[],
  handles: (event: RecordedEvent) => event is E,
): readonly E[] {
  return events.every(handles) ? events : events.filter(handles);
}

/** Not for `raw` projections: events as stored may have an older shape than the union describes. */
export interface TypedProjectionSpec<Types extends readonly DomainEventType[]> extends Omit<Projection, 'eventTypes' | 'apply' | 'raw'> {
  /** The event types consumed, as a const tuple: they decide the type of the events `apply` receives. */
  readonly eventTypes: Types;
  apply(events: readonly EventOf<Types>[], target: ProjectionTarget): Promise<void>;
}

/** A projection whose `apply` is typed on the events it declares (see `EventOf`). */
export function typedProjection<const Types extends readonly DomainEventType[]>(spec: TypedProjectionSpec<Types>): Projection {
  const { eventTypes, ...rest } = spec;
  const types: ReadonlySet<string> = new Set(eventTypes);
  const handles = handledBy<Types>(types);
  return { ...rest, eventTypes: types, apply: (events, target) => spec.apply(narrowBatch(events, handles), target) };
}

export interface DocumentProjectionSpec<D extends ReadModelDocument, Types extends readonly DomainEventType[]> {
  name: string;
  version: number;
  collection: string;
  indexes?: IndexSpec[];
  /** The event types consumed, as a const tuple: they decide the type of the events `documentId` and `evolve` receive. */
  eventTypes: Types;
  /** `_id` of the document the event touches, or null to ignore the event. */
  documentId(event: EventOf<Types>): string | null;
  /** `null` deletes the document. Must not mutate `doc`. */
  evolve(doc: D | null, event: EventOf<Types>): D | null;
}

/**
 * A projection of one document per aggregate (Emmett's shape): evolve(doc,
 * event) → doc | null. Events of a batch are folded per document in memory,
 * then written in one bulk write, each write guarded by the document's last
 * applied position so that a replay changes nothing.
 */
export function documentProjection<D extends ReadModelDocument, const Types extends readonly DomainEventType[]>(
  spec: DocumentProjectionSpec<D, Types>,
): Projection {
  const eventTypes: ReadonlySet<string> = new Set(spec.eventTypes);
  const handles = handledBy<Types>(eventTypes);
  return {
    name: spec.name,
    version: spec.version,
    eventTypes,
    collections: { [spec.collection]: spec.indexes ?? [] },
    async apply(batch, target) {
      const events = narrowBatch(batch, handles);
      const collection = target.collection<D>(spec.collection);
      const byId = new Map<string, EventOf<Types>[]>();
      for (const event of events) {
        const id = spec.documentId(event);
        if (id === null) continue;
        const list = byId.get(id);
        if (list) list.push(event);
        else byId.set(id, [event]);
      }
      if (byId.size === 0) return;
      const existing = await collection.find({ _id: { $in: [...byId.keys()] } });
      const docs = new Map(existing.map((d) => [d._id, d] as const));
      const inserts: D[] = [];
      const writes: WriteOperation<D>[] = [];
      for (const [id, list] of byId) {
        const stored = docs.get(id) ?? null;
        let doc: D | null = stored;
        const applied = stored?._pos ?? 0;
        let last = 0;
        for (const event of list) {
          if (event.position <= applied) continue;
          doc = spec.evolve(doc, event);
          if (doc) doc = { ...doc, _pos: event.position };
          last = event.position;
        }
        if (last === 0) continue;
        if (stored === null && doc !== null) {
          inserts.push(doc);
          continue;
        }
        const guard = { _id: id, _pos: { $lt: last } };
        writes.push(doc === null ? { deleteOne: { filter: guard } } : { replaceOne: { filter: guard, replacement: doc, upsert: true } });
      }
      // New documents go in one bulk insert: in a rebuild nearly every document
      // is new, and inserts batch natively on every server. A duplicate key
      // means someone stored it meanwhile: retry it as a guarded replace.
      if (inserts.length > 0) {
        const result = await collection.bulkWrite(
          inserts.map((document) => ({ insertOne: { document } })),
          { ordered: false },
        );
        for (const index of result.duplicateKeyErrors) {
          const doc = inserts[index];
          if (doc) writes.push({ replaceOne: { filter: { _id: doc._id, _pos: { $lt: doc._pos } }, replacement: doc, upsert: true } });
        }
      }
      // A duplicate key on a guarded upsert means a newer version of the
      // document is already stored: the write was applied before.
      if (writes.length > 0) await collection.bulkWrite(writes, { ordered: false });
    },
  };
}

/** Read-model document ids are unique across tenants. */
export const docId = (tenantId: string, ...parts: string[]): string => [tenantId, ...parts].join('/');
