/**
 * The DocumentStore port: collections with MongoDB filter, update and sort
 * semantics. Three adapters pass one contract suite
 * (test/contract/documentstore.contract.ts): `memory` (mingo), `sqlite`
 * (one file, the embedded default) and `mongodb` (official driver).
 *
 * The shapes deliberately mirror the MongoDB driver so that the mongodb
 * adapter stays thin and the memory adapter cannot drift into its own dialect.
 */

export type Document = { _id: string } & Record<string, unknown>;

/** A MongoDB query filter, e.g. `{ tenantId: 'acme', id: { $in: [...] } }`. */
export type Filter = Record<string, unknown>;
/** A MongoDB update document with operators (`$set`, `$unset`, `$inc`, `$push`, `$setOnInsert`, ...). */
export type Update = Record<string, unknown>;
/** `{ field: 1 | -1 }`, applied in key order. */
export type Sort = Record<string, 1 | -1>;
export type Projection = Record<string, 0 | 1>;

export interface FindOptions {
  sort?: Sort;
  skip?: number;
  limit?: number;
  projection?: Projection;
}

export interface UpdateOptions {
  upsert?: boolean;
}

export interface UpdateResult {
  matchedCount: number;
  modifiedCount: number;
  upsertedCount: number;
}

export type WriteOperation<T extends Document> =
  | { insertOne: { document: T } }
  | { replaceOne: { filter: Filter; replacement: T; upsert?: boolean } }
  | { updateOne: { filter: Filter; update: Update; upsert?: boolean } }
  | { updateMany: { filter: Filter; update: Update } }
  | { deleteOne: { filter: Filter } }
  | { deleteMany: { filter: Filter } };

export interface BulkWriteOptions {
  /**
   * Default true: stop at the first failing operation. With `false`, every
   * operation is attempted and failures are reported together.
   */
  ordered?: boolean;
  /**
   * The caller hands the inserted documents over: it will never touch them
   * (or anything they reference) again. The memory store then keeps them as
   * they are instead of copying them; servers ignore it. For projections
   * that build each document from scratch (the audit log).
   */
  handOver?: boolean;
}

export interface BulkWriteResult {
  insertedCount: number;
  matchedCount: number;
  modifiedCount: number;
  deletedCount: number;
  upsertedCount: number;
  /** Indexes (into the operations array) of operations that failed on a unique index. */
  duplicateKeyErrors: number[];
}

export interface IndexSpec {
  keys: Record<string, 1 | -1>;
  name: string;
  unique?: boolean;
  /** Unique only among documents matching this filter (MongoDB partialFilterExpression). */
  partialFilterExpression?: Filter;
}

export interface Collection<T extends Document = Document> {
  readonly name: string;
  /**
   * Documents that `findOne` and `find` return are the caller's to read, not
   * to change: a store may share them between callers, deep-frozen (the
   * SQLite store does; a change then throws a TypeError). Copy one to change
   * it. With a projection, each is the caller's own.
   */
  findOne(filter: Filter, options?: FindOptions): Promise<T | null>;
  find(filter: Filter, options?: FindOptions): Promise<T[]>;
  /** Streams matching documents without holding them all in memory. */
  stream(filter: Filter, options?: FindOptions): AsyncIterable<T>;
  countDocuments(filter: Filter): Promise<number>;
  /** Throws DuplicateKeyError on a unique index violation. */
  insertOne(document: T): Promise<void>;
  /** Throws DuplicateKeyError when an upsert collides with a unique index (including `_id`). */
  updateOne(filter: Filter, update: Update, options?: UpdateOptions): Promise<UpdateResult>;
  updateMany(filter: Filter, update: Update): Promise<UpdateResult>;
  replaceOne(filter: Filter, replacement: T, options?: UpdateOptions): Promise<UpdateResult>;
  deleteOne(filter: Filter): Promise<number>;
  deleteMany(filter: Filter): Promise<number>;
  /**
   * Duplicate-key failures are reported in the result, never thrown, because
   * idempotent projections expect them on replay. Other failures throw.
   */
  bulkWrite(operations: readonly WriteOperation<T>[], options?: BulkWriteOptions): Promise<BulkWriteResult>;
  /** Idempotent. */
  createIndexes(indexes: readonly IndexSpec[]): Promise<void>;
  /** Removes the collection and its indexes. Idempotent. */
  drop(): Promise<void>;
}

export interface DocumentStore {
  readonly kind: 'memory' | 'mongodb' | 'sqlite';
  collection<T extends Document = Document>(name: string): Collection<T>;
  listCollections(): Promise<string[]>;
  /** Atomically renames a collection, replacing `to` if it exists (used for blue/green switches). */
  renameCollection(from: string, to: string): Promise<void>;
  /** Cheap reachability check for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * Optional capability: multi-document transactions. True only when
   * `withTransaction` really makes its writes atomic (MongoDB replica sets and
   * sharded clusters). Adapters without them (memory; the mongodb adapter on
   * FerretDB or a standalone mongod, or with TENANTRY_MONGODB_TRANSACTIONS=off)
   * leave it out or set it false. Callers go through `transactionsOf()` and
   * `inTransaction()` below, which treat a missing capability as false.
   */
  readonly transactions?: boolean;
  /**
   * Runs `fn` in one transaction: every collection operation `fn` makes (in
   * its own async context, so callees need not pass anything along) commits
   * together or not at all. The adapter may run `fn` again on a transient
   * transaction error, so `fn` must only change state through this store
   * (or do so idempotently). Without transactions it just runs `fn`.
   */
  withTransaction?<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Optional: brings structures the adapter keeps up to date lazily (the
   * memory store's ordered indexes) up to date now, and from then on in the
   * background, in time slices, so that no single query pays on the event
   * loop for everything written since the last one. Called after the
   * projections' start-up catch-up.
   */
  warm?(): Promise<void>;
  /**
   * Optional: the adapter's admission control now (MongoDB: operations on the
   * wire, waiting, refused; src/readmodels/admission.ts), for /metrics.
   */
  admissionStats?(): AdmissionStats;
}

/** A networked store's admission control, as /metrics shows it. */
export interface AdmissionStats {
  /** Operations sent to the server and not answered yet. */
  inFlight: number;
  /** Waiting for a slot: background work (projections, jobs), never refused. */
  waitingBackground: number;
  /** Waiting for a slot: reads of requests, refused past the queue's bound. */
  waitingRequests: number;
  /** Request reads refused as overloaded since the start. */
  refused: number;
}

/** Whether the store makes `inTransaction` atomic. */
export function transactionsOf(store: DocumentStore): boolean {
  return store.transactions === true && typeof store.withTransaction === 'function';
}

/** `fn` in one transaction where the store offers them; otherwise simply `fn()` (no atomicity). */
export function inTransaction<T>(store: DocumentStore, fn: () => Promise<T>): Promise<T> {
  return transactionsOf(store) && store.withTransaction ? store.withTransaction(fn) : fn();
}

export class DuplicateKeyError extends Error {
  override readonly name = 'DuplicateKeyError';
  constructor(
    readonly collection: string,
    readonly index: string,
  ) {
    super(`duplicate key in ${collection} (index ${index})`);
  }
}

export class DocumentStoreUnavailableError extends Error {
  override readonly name: string = 'DocumentStoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The store answered and refused this process's credentials (a wrong user or
 * password): waiting will not help, the configuration must change. Not an
 * unavailability: a start ends with it, in one line (CLI exit code 2).
 */
export class DocumentStoreRefusedError extends Error {
  override readonly name: string = 'DocumentStoreRefusedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The store is up but has more work queued than it serves in time: a request
 * read was refused at once instead of waiting behind the queue (see
 * src/readmodels/admission.ts). Answered as SERVICE_UNAVAILABLE with
 * `retryAfterSeconds`; not an outage (the circuit breaker stays closed).
 */
export class DocumentStoreOverloadedError extends DocumentStoreUnavailableError {
  override readonly name = 'DocumentStoreOverloadedError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
