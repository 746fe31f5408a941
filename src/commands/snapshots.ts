/**
 * Stored snapshots of aggregate state, so that neither a command nor a time
 * travel read ever folds a long stream from its first event.
 *
 * A snapshot is the fold of a stream's first `revision` events, taken every
 * `SNAPSHOT_EVERY` events (at revisions that are multiples of it). They are
 * derived data, like the read models: written lazily by whoever folds past a
 * multiple (a command, a cold load, an `asOf` read), never trusted beyond the
 * stream they came from (the events after a snapshot are always read from the
 * log), and a missing or unreachable store only costs speed: the fold then
 * starts from an earlier snapshot or from the first event.
 *
 * `occurredAtMax` is the running maximum of `occurredAt` over the folded
 * events. Time travel folds "every event up to the first one that occurred
 * after T", so the right starting point for `asOf: T` is the newest snapshot
 * whose `occurredAtMax` is at most T (monotonic in `revision`, hence one index
 * lookup). The state is stored as JSON text: states hold user JSON (namespace
 * variables) whose keys MongoDB-compatible servers do not all accept.
 */
import { parseStreamName } from '../eventstore/port.js';
import { DocumentStoreUnavailableError, type Collection, type Document, type DocumentStore, type IndexSpec } from '../readmodels/port.js';

/** Events between two snapshots of a stream: an `asOf` read folds at most this many events after its snapshot. */
export const SNAPSHOT_EVERY = 100;

export const SNAPSHOTS = 'aggregate_snapshots';

/** Where a fold of a stream stands, besides the state itself. */
export interface StreamCursor {
  /** Events folded (the API's revision of the aggregate). */
  revision: number;
  /** Running maximum of the folded events' `occurredAt`; '' before the first. */
  occurredAtMax: string;
  /** `occurredAt` of the newest folded event whose type ends in `Created` (the aggregate's creation, or re-creation). */
  createdAt: string | null;
  /** `occurredAt` and actor of the newest folded event. */
  lastAt: string | null;
  lastActorId: string | null;
  /** Global position of the newest folded event; 0 before the first. */
  lastPosition: number;
}

export interface Loaded<S> extends StreamCursor {
  state: S;
}

export const EMPTY_CURSOR: StreamCursor = {
  revision: 0,
  occurredAtMax: '',
  createdAt: null,
  lastAt: null,
  lastActorId: null,
  lastPosition: 0,
};

export interface SnapshotDocument extends Document {
  _id: string;
  tenantId: string;
  stream: string;
  /** `name@stateVersion` of the decider, plus the upcasters' fingerprint. */
  schema: string;
  revision: number;
  occurredAtMax: string;
  createdAt: string | null;
  lastAt: string | null;
  lastActorId: string | null;
  lastPosition: number;
  stateJson: string;
}

export const SNAPSHOT_INDEXES: IndexSpec[] = [
  { keys: { tenantId: 1, stream: 1, schema: 1, revision: -1 }, name: 'tenant_stream_schema_revision', unique: true },
  { keys: { tenantId: 1, stream: 1, schema: 1, occurredAtMax: -1, revision: -1 }, name: 'tenant_stream_schema_time' },
];

/** Where snapshots are kept. Every method may fail: callers treat a failure as "no snapshot". */
export interface SnapshotStore {
  /** The newest snapshot of the stream. */
  latest(stream: string, schema: string): Promise<Loaded<unknown> | null>;
  /** The newest snapshot all of whose events occurred at or before `until` (ISO-8601). */
  atOrBefore(stream: string, schema: string, until: string): Promise<Loaded<unknown> | null>;
  /** Stores snapshots; ones already stored (same stream, schema and revision) are left as they are. */
  save(stream: string, schema: string, snapshots: readonly Loaded<unknown>[]): Promise<void>;
}

/** No snapshots at all: every fold starts from the first event (tests, and a store that is down). */
export const noSnapshots: SnapshotStore = {
  latest: () => Promise.resolve(null),
  atOrBefore: () => Promise.resolve(null),
  save: () => Promise.resolve(),
};

const snapshotId = (schema: string, stream: string, revision: number): string => `${schema}|${stream}|${revision}`;

function loadedOf(doc: SnapshotDocument): Loaded<unknown> {
  return {
    revision: doc.revision,
    occurredAtMax: doc.occurredAtMax,
    createdAt: doc.createdAt,
    lastAt: doc.lastAt,
    lastActorId: doc.lastActorId,
    lastPosition: doc.lastPosition,
    state: JSON.parse(doc.stateJson) as unknown,
  };
}

/** Snapshots in a collection of the read models' document store (memory, MongoDB). */
export class DocumentSnapshotStore implements SnapshotStore {
  private readonly collection: Collection<SnapshotDocument>;
  private ready: Promise<void> | null = null;

  constructor(store: DocumentStore) {
    this.collection = store.collection<SnapshotDocument>(SNAPSHOTS);
  }

  /** Creates the indexes once (idempotent); called lazily by the first use. */
  private init(): Promise<void> {
    this.ready ??= this.collection.createIndexes(SNAPSHOT_INDEXES).catch((error: unknown) => {
      this.ready = null;
      throw error;
    });
    return this.ready;
  }

  async latest(stream: string, schema: string): Promise<Loaded<unknown> | null> {
    await this.init();
    const { tenantId } = parseStreamName(stream);
    const doc = await this.collection.findOne({ tenantId, stream, schema }, { sort: { revision: -1 } });
    return doc ? loadedOf(doc) : null;
  }

  async atOrBefore(stream: string, schema: string, until: string): Promise<Loaded<unknown> | null> {
    await this.init();
    const { tenantId } = parseStreamName(stream);
    const doc = await this.collection.findOne(
      { tenantId, stream, schema, occurredAtMax: { $lte: until } },
      { sort: { occurredAtMax: -1, revision: -1 } },
    );
    return doc ? loadedOf(doc) : null;
  }

  async save(stream: string, schema: string, snapshots: readonly Loaded<unknown>[]): Promise<void> {
    if (snapshots.length === 0) return;
    await this.init();
    const { tenantId } = parseStreamName(stream);
    await this.collection.bulkWrite(
      snapshots.map((s) => ({
        insertOne: {
          document: {
            _id: snapshotId(schema, stream, s.revision),
            tenantId,
            stream,
            schema,
            revision: s.revision,
            occurredAtMax: s.occurredAtMax,
            createdAt: s.createdAt,
            lastAt: s.lastAt,
            lastActorId: s.lastActorId,
            lastPosition: s.lastPosition,
            stateJson: JSON.stringify(s.state),
          },
        },
      })),
      // A duplicate is a snapshot someone else took of the very same prefix of the stream.
      { ordered: false },
    );
  }
}

/** Whether an error only means "the snapshot store is not there now" (the fold goes on without it). */
export const isSnapshotStoreOutage = (error: unknown): boolean => error instanceof DocumentStoreUnavailableError;
