import type { RecordedEvent } from '../../eventstore/port.js';
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

export interface DocumentProjectionSpec<D extends ReadModelDocument> {
  name: string;
  version: number;
  collection: string;
  indexes?: IndexSpec[];
  eventTypes: readonly string[];
  /** `_id` of the document the event touches, or null to ignore the event. */
  documentId(event: RecordedEvent): string | null;
  /** `null` deletes the document. Must not mutate `doc`. */
  evolve(doc: D | null, event: RecordedEvent): D | null;
}

/**
 * A projection of one document per aggregate (Emmett's shape): evolve(doc,
 * event) → doc | null. Events of a batch are folded per document in memory,
 * then written in one bulk write, each write guarded by the document's last
 * applied position so that a replay changes nothing.
 */
export function documentProjection<D extends ReadModelDocument>(spec: DocumentProjectionSpec<D>): Projection {
  return {
    name: spec.name,
    version: spec.version,
    eventTypes: new Set(spec.eventTypes),
    collections: { [spec.collection]: spec.indexes ?? [] },
    async apply(events, target) {
      const collection = target.collection<D>(spec.collection);
      const byId = new Map<string, RecordedEvent[]>();
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
