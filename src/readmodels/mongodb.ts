/**
 * The production DocumentStore adapter: a thin layer over the official
 * MongoDB driver. The port mirrors the driver's shapes, so this file mostly
 * maps errors:
 *
 * - E11000 (code 11000) → DuplicateKeyError; in bulkWrite, the indexes of the
 *   failed operations → `duplicateKeyErrors` (never thrown);
 * - server selection / network / closed-client failures, the server's own
 *   "shutting down / not primary / host unreachable" codes, and a
 *   MongoBulkWriteError that only wraps one of these (the driver wraps every
 *   failure of a bulk write, a closed connection included) →
 *   DocumentStoreUnavailableError, never an error of the data.
 *
 * Also runs against FerretDB 1.24 (SQLite backend, used in CI). Its gaps and
 * what this adapter does about them (only when the server is FerretDB, except
 * where noted):
 * - `renameCollection` with `dropTarget`: NotImplemented → emulated by
 *   drop-then-rename, NOT atomic (see renameCollection).
 * - unique indexes with `partialFilterExpression`: NotImplemented → createIndexes
 *   rejects with an error naming the option.
 * - a unique violation by an update of an existing document (and by
 *   createIndexes over duplicate data) comes back as InternalError (code 1,
 *   "UNIQUE constraint failed") instead of E11000 → mapped to DuplicateKeyError.
 *   E11000 messages never name the index → DuplicateKeyError.index is
 *   UNKNOWN_INDEX.
 * - the `update` command with several statements stops at the first error,
 *   always reports it at index 0 and loses the counts → bulkWrite batches that
 *   contain updates or replacements are executed one operation at a time.
 * - upserts do not copy equality fields out of a top-level `$and` into the new
 *   document → `$and` branches with disjoint fields are merged into the filter
 *   first (semantically identical).
 * - createIndexes with several indexes that all exist already drops the
 *   connection (server panic) → existing indexes are filtered out first (done
 *   on every server: it is semantically identical and cheap).
 * - unique indexes treat a missing field as distinct from every other missing
 *   field (MongoDB treats it as null, so two documents without the field
 *   collide). Not emulated; the contract declares it.
 * - no transactions at all (see below).
 *
 * Transactions (`withTransaction`, the port's optional capability): MongoDB
 * offers multi-document transactions on replica sets and sharded clusters
 * only. At connect the `hello` answer decides: a replica set (`setName`) or a
 * mongos (`msg: 'isdbgrid'`) with logical sessions (`logicalSessionTimeoutMinutes`)
 * supports them; a standalone mongod and FerretDB (which answers `hello`
 * without `setName`, and refuses `autocommit`) do not. `transactions: 'auto'`
 * (the default) uses them where offered, `'on'` refuses to connect without
 * them, `'off'` never uses them. Inside `withTransaction(fn)` every operation
 * of every collection of this store finds the session through an
 * AsyncLocalStorage, so callers (projections) pass nothing along.
 *
 * NOT VERIFIED HERE: the machine this adapter is developed on has no MongoDB
 * replica set (only FerretDB), so the transactional path has only run through
 * its detection and its fallbacks. The tests that exercise it against a real
 * replica set run when TENANTRY_TEST_MONGODB_REPLSET_URI is set and say
 * SKIPPED otherwise.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  MongoBulkWriteError,
  MongoClient,
  MongoClientClosedError,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type AnyBulkWriteOperation,
  type ClientSession,
  type Collection as DriverCollection,
  type Db,
  type FindOptions as DriverFindOptions,
  type IndexDescription,
  type MongoClientOptions,
  type WriteError,
} from 'mongodb';
import {
  DocumentStoreOverloadedError,
  DocumentStoreRefusedError,
  DocumentStoreUnavailableError,
  DuplicateKeyError,
  type AdmissionStats,
  type BulkWriteOptions,
  type BulkWriteResult,
  type Collection,
  type Document,
  type DocumentStore,
  type Filter,
  type FindOptions,
  type IndexSpec,
  type Update,
  type UpdateOptions,
  type UpdateResult,
  type WriteOperation,
} from './port.js';
import { Admission, type OperationKind } from './admission.js';

/** DuplicateKeyError.index when the server does not say which index was violated (FerretDB). */
export const UNKNOWN_INDEX = '(unknown)';

const DUPLICATE_KEY = 11000;
const NAMESPACE_NOT_FOUND = 26;
const NOT_IMPLEMENTED = 238;
const INTERNAL_ERROR = 1;
/** The server refused the credentials (a wrong user or password). */
const AUTHENTICATION_FAILED = 18;
/** The driver's own default pool size, kept unless admission needs more. */
const DEFAULT_POOL_SIZE = 100;
const DEFAULT_MAX_IN_FLIGHT = 16;
const DEFAULT_MAX_QUEUED_READS = 256;
/** Connections beyond the admitted operations: the breaker's pings, readiness pings, streaming cursors. */
const POOL_HEADROOM = 16;
const COMMAND_NOT_FOUND = 59;

export interface MongoDocumentStoreOptions {
  /** How long an operation waits for a reachable server. Default 5000 ms. */
  serverSelectionTimeoutMS?: number;
  connectTimeoutMS?: number;
  /**
   * How long an operation may wait for the server's answer on an open
   * connection. Default 60000 ms: without a bound, an operation sent on a
   * connection the network silently dropped (no reset reaches the client)
   * waits forever, and so does the projection that awaits it.
   */
  socketTimeoutMS?: number;
  maxPoolSize?: number;
  /**
   * The longest the adapter waits for one data operation (find, write, bulk
   * write), whatever the driver is waiting for inside it. Default 30000 ms.
   * Past it the operation counts as an outage (DocumentStoreUnavailableError,
   * fail fast until a ping answers), so a caller never awaits a store forever.
   * The abandoned operation may still complete: projection writes are guarded
   * by positions, leases and checkpoints by compare-and-set.
   */
  operationTimeoutMS?: number;
  /**
   * Data operations sent to the server at once (admission control,
   * src/readmodels/admission.ts); the rest wait in the adapter's queues, not
   * in the driver's. Default 16. The driver's pool is made at least this
   * size plus room for pings and cursors.
   */
  maxInFlight?: number;
  /** Request reads that may wait for a slot; one more is refused as overloaded. Default 256. */
  maxQueuedReads?: number;
  appName?: string;
  /** Extra driver options, applied last. */
  clientOptions?: MongoClientOptions;
  /**
   * Multi-document transactions (TENANTRY_MONGODB_TRANSACTIONS): `auto`
   * (default) where the server offers them, `on` to refuse a server without
   * them (connect throws MongoTransactionsUnsupportedError), `off` never.
   */
  transactions?: TransactionMode;
}

export type TransactionMode = 'auto' | 'on' | 'off';

export interface TransactionSupport {
  supported: boolean;
  /** Why (or why not), in words for a log line or an error message. */
  reason: string;
}

export interface MongoServerInfo {
  /** MongoDB version the server reports (FerretDB reports the version it emulates). */
  version: string;
  /** Set when the server is FerretDB. */
  ferretdbVersion?: string;
  /** Whether the server offers multi-document transactions (from its `hello` answer). */
  transactionSupport: TransactionSupport;
}

/** TENANTRY_MONGODB_TRANSACTIONS=on, and the server has no transactions. */
export class MongoTransactionsUnsupportedError extends Error {
  override readonly name = 'MongoTransactionsUnsupportedError';
  constructor(readonly reason: string) {
    super(`transactions were required, but this MongoDB server does not offer them: ${reason}`);
  }
}

/**
 * An operation inside a transaction failed and the transaction is lost (the
 * server aborts a transaction at its first failed write), even if the caller
 * caught that failure and went on. Never retried by the driver: the caller
 * decides (the projection runner applies the batch again without one).
 */
/** An operation that got no answer within the gateway's operation timeout: the server may be down, or only slow. */
export class MongoOperationTimeoutError extends DocumentStoreUnavailableError {}

export class TransactionAbortedError extends Error {
  override readonly name = 'TransactionAbortedError';
  constructor(cause: unknown) {
    super(`the transaction was aborted by an earlier failure in it: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** MongoDB 4.0 (wire version 7) has replica-set transactions; 4.2 (wire version 8) sharded ones. */
const WIRE_VERSION_REPLICA_SET_TRANSACTIONS = 7;
const WIRE_VERSION_SHARDED_TRANSACTIONS = 8;

/**
 * Decides from a `hello` (or legacy `isMaster`) answer whether the server
 * offers multi-document transactions. FerretDB is never taken for one that
 * does, whatever it answers.
 */
export function detectTransactionSupport(hello: Record<string, unknown>, ferretdbVersion?: string): TransactionSupport {
  if (ferretdbVersion !== undefined) {
    return { supported: false, reason: `FerretDB ${ferretdbVersion} does not implement transactions` };
  }
  if (typeof hello['logicalSessionTimeoutMinutes'] !== 'number') {
    return { supported: false, reason: 'the server has no logical sessions (hello: no logicalSessionTimeoutMinutes)' };
  }
  const wire = typeof hello['maxWireVersion'] === 'number' ? hello['maxWireVersion'] : 0;
  if (typeof hello['setName'] === 'string') {
    if (wire < WIRE_VERSION_REPLICA_SET_TRANSACTIONS) {
      return { supported: false, reason: `replica set ${hello['setName']} runs a MongoDB older than 4.0 (wire version ${wire})` };
    }
    return { supported: true, reason: `replica set ${hello['setName']}` };
  }
  if (hello['msg'] === 'isdbgrid') {
    if (wire < WIRE_VERSION_SHARDED_TRANSACTIONS) {
      return { supported: false, reason: `sharded cluster (mongos) older than MongoDB 4.2 (wire version ${wire})` };
    }
    return { supported: true, reason: 'sharded cluster (mongos)' };
  }
  return {
    supported: false,
    reason:
      'a standalone server: MongoDB offers transactions on replica sets and sharded clusters only (a single-node replica set will do)',
  };
}

/** One attempt of one transaction: the session its operations join, until it ends. */
interface TransactionScope {
  session: ClientSession;
  open: boolean;
  /** The first failure inside the attempt: the server has aborted the transaction. */
  failed: unknown;
}

const isTransient = (err: unknown): boolean => err instanceof MongoError && err.hasErrorLabel('TransientTransactionError');

type Raw = Record<string, unknown> & { _id: unknown };

/**
 * Server answers that mean "not now, try again" rather than "this operation is
 * wrong": HostUnreachable, HostNotFound, NetworkTimeout, ShutdownInProgress,
 * PrimarySteppedDown, SocketException, NotWritablePrimary,
 * InterruptedAtShutdown, InterruptedDueToReplStateChange, NotPrimaryNoSecondaryOk,
 * NotPrimaryOrSecondary.
 */
const UNAVAILABLE_CODES = new Set([6, 7, 89, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436]);

/** FerretDB's SQLite backend, busy with other writers: InternalError "database is locked (5) (SQLITE_BUSY)". Try again later. */
function isSqliteBusy(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === INTERNAL_ERROR && /SQLITE_BUSY|database is locked/.test(err.message);
}

/** Whether a driver error means "the store is not available now" (exported for tests of the classification). */
export function isUnavailable(err: unknown): boolean {
  // A bulk write wraps whatever failed it (a closed connection, a failed server selection): judge what it wraps.
  if (err instanceof MongoBulkWriteError) {
    const wrapped = err.errorResponse as unknown;
    if (wrapped instanceof Error && wrapped !== err && isUnavailable(wrapped)) return true;
    return typeof err.code === 'number' && UNAVAILABLE_CODES.has(err.code) && (err.writeErrors as unknown[]).length === 0;
  }
  if (err instanceof MongoServerError && typeof err.code === 'number' && UNAVAILABLE_CODES.has(err.code)) return true;
  if (isSqliteBusy(err)) return true;
  return (
    err instanceof MongoServerSelectionError ||
    err instanceof MongoNetworkError ||
    err instanceof MongoTopologyClosedError ||
    err instanceof MongoNotConnectedError ||
    err instanceof MongoClientClosedError ||
    isSocketError(err)
  );
}

const SOCKET_ERRORS = new Set(['EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'ECONNABORTED', 'EHOSTUNREACH']);

/** The driver lets a few raw socket errors through unwrapped, e.g. EPIPE when the server went away mid-write. */
function isSocketError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && SOCKET_ERRORS.has(code);
}

function indexNameOf(err: MongoServerError): string {
  const message = typeof err.errmsg === 'string' ? err.errmsg : err.message;
  const match = /index: (\S+) dup key/.exec(message);
  return match?.[1] ?? UNKNOWN_INDEX;
}

/** FerretDB/SQLite reports some unique violations as InternalError (code 1). */
function isSqliteUniqueViolation(err: MongoServerError): boolean {
  return err.code === INTERNAL_ERROR && /UNIQUE constraint failed/.test(err.message);
}

function isDuplicateKey(err: unknown): err is MongoServerError {
  return (
    err instanceof MongoServerError && !(err instanceof MongoBulkWriteError) && (err.code === DUPLICATE_KEY || isSqliteUniqueViolation(err))
  );
}

function mapError(err: unknown, collection: string): unknown {
  if (isDuplicateKey(err)) return new DuplicateKeyError(collection, indexNameOf(err));
  if (isUnavailable(err)) {
    const message = err instanceof Error ? err.message : String(err);
    return new DocumentStoreUnavailableError(`MongoDB unavailable: ${message}`, { cause: err });
  }
  return err;
}

function findOptions(options: FindOptions | undefined): DriverFindOptions {
  const out: DriverFindOptions = {};
  if (!options) return out;
  if (options.sort && Object.keys(options.sort).length > 0) out.sort = options.sort;
  if (options.skip) out.skip = options.skip;
  if (options.limit) out.limit = options.limit;
  if (options.projection && Object.keys(options.projection).length > 0) out.projection = options.projection;
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * `{a: 1, $and: [{b: 2}, {c: {$lt: 3}}]}` → `{a: 1, b: 2, c: {$lt: 3}}` when no
 * field repeats (the same query), so that FerretDB's upserts see the
 * equalities. Returns the filter unchanged when it cannot be merged safely.
 */
export function flattenAnd(filter: Filter): Filter {
  const and = filter['$and'];
  if (!Array.isArray(and)) return filter;
  const merged: Filter = {};
  for (const [k, v] of Object.entries(filter)) if (k !== '$and') merged[k] = v;
  for (const branch of and) {
    if (!isPlainObject(branch)) return filter;
    const flat = flattenAnd(branch);
    for (const [k, v] of Object.entries(flat)) {
      if (Object.prototype.hasOwnProperty.call(merged, k)) return filter;
      merged[k] = v;
    }
  }
  return merged;
}

function sameIndex(existing: Record<string, unknown>, spec: IndexSpec): boolean {
  const sameKeys = JSON.stringify(existing['key']) === JSON.stringify(spec.keys);
  const sameUnique = Boolean(existing['unique']) === Boolean(spec.unique);
  const samePartial = JSON.stringify(existing['partialFilterExpression'] ?? null) === JSON.stringify(spec.partialFilterExpression ?? null);
  return sameKeys && sameUnique && samePartial;
}

const updateResult = (r: { matchedCount: number; modifiedCount: number; upsertedCount: number }): UpdateResult => ({
  matchedCount: r.matchedCount,
  modifiedCount: r.modifiedCount,
  upsertedCount: r.upsertedCount,
});

class MongoCollection<T extends Document> implements Collection<T> {
  constructor(
    private readonly store: MongoDocumentStore,
    private readonly raw: DriverCollection<Raw>,
  ) {}

  get name(): string {
    return this.raw.collectionName;
  }

  /**
   * Every operation: fail fast while the server is known down (circuit
   * breaker), and map driver errors to the port's. Inside a transaction, also
   * fail fast once the transaction is lost (see fail()).
   */
  private async guarded<R>(kind: OperationKind, operation: (session: ClientSession | undefined) => Promise<R>): Promise<R> {
    this.store.failFast();
    const scope = this.store.activeScope();
    if (scope && scope.failed !== null) throw new TransactionAbortedError(scope.failed);
    // Refused when overloaded before anything is sent: not an outage, so outside the mapping below.
    return this.store.admission.run(kind, async () => {
      this.store.failFast();
      try {
        return await this.store.bounded(operation(scope?.session));
      } catch (err) {
        this.fail(err, scope);
      }
    });
  }

  /**
   * Maps and throws. Inside a transaction: an error labelled
   * TransientTransactionError is thrown as the driver made it, so that the
   * driver's withTransaction retries the whole transaction (the store maps
   * whatever finally escapes it); any other failure is remembered, because
   * the server has aborted the transaction even if the caller catches it.
   */
  private fail(err: unknown, within: TransactionScope | undefined = this.store.activeScope()): never {
    const scope = within?.open ? within : undefined;
    if (scope && isTransient(err)) throw err;
    const mapped = mapError(err, this.name);
    if (scope) scope.failed ??= mapped;
    // A busy SQLite under FerretDB is contention, not a server that went away: retried, but no reason to fail fast.
    if (mapped instanceof DocumentStoreUnavailableError && !isSqliteBusy(err)) this.store.outage(mapped);
    throw mapped;
  }

  private upsertFilter(filter: Filter, upsert: boolean): Filter {
    return upsert && this.store.isFerretDB ? flattenAnd(filter) : filter;
  }

  /** bulkWrite one operation at a time (FerretDB, see the file comment). */
  private async bulkWriteSequentially(operations: readonly WriteOperation<T>[], ordered: boolean): Promise<BulkWriteResult> {
    const result: BulkWriteResult = {
      insertedCount: 0,
      matchedCount: 0,
      modifiedCount: 0,
      deletedCount: 0,
      upsertedCount: 0,
      duplicateKeyErrors: [],
    };
    let failure: Error | undefined;
    for (let i = 0; i < operations.length; i++) {
      const op = operations[i]!;
      try {
        if ('insertOne' in op) {
          await this.insertOne(op.insertOne.document);
          result.insertedCount++;
        } else if ('deleteOne' in op) {
          result.deletedCount += await this.deleteOne(op.deleteOne.filter);
        } else if ('deleteMany' in op) {
          result.deletedCount += await this.deleteMany(op.deleteMany.filter);
        } else {
          let r: UpdateResult;
          if ('updateOne' in op) {
            r = await this.updateOne(op.updateOne.filter, op.updateOne.update, { upsert: op.updateOne.upsert ?? false });
          } else if ('updateMany' in op) {
            r = await this.updateMany(op.updateMany.filter, op.updateMany.update);
          } else if ('replaceOne' in op) {
            r = await this.replaceOne(op.replaceOne.filter, op.replaceOne.replacement, { upsert: op.replaceOne.upsert ?? false });
          } else {
            throw new Error(`unknown bulk write operation at index ${i}: ${JSON.stringify(Object.keys(op))}`);
          }
          result.matchedCount += r.matchedCount;
          result.modifiedCount += r.modifiedCount;
          result.upsertedCount += r.upsertedCount;
        }
      } catch (err) {
        if (err instanceof DuplicateKeyError) {
          result.duplicateKeyErrors.push(i);
          if (ordered) break;
          continue;
        }
        if (ordered || err instanceof DocumentStoreUnavailableError) throw err;
        failure ??= err instanceof Error ? err : new Error('bulk write operation failed', { cause: err });
      }
    }
    if (failure !== undefined) throw failure;
    return result;
  }

  async findOne(filter: Filter, options?: FindOptions): Promise<T | null> {
    return this.guarded('read', async (session) => {
      return (await this.raw.findOne(filter, { ...findOptions(options), session })) as T | null;
    });
  }

  async find(filter: Filter, options?: FindOptions): Promise<T[]> {
    return this.guarded('read', async (session) => {
      return (await this.raw.find(filter, { ...findOptions(options), session }).toArray()) as T[];
    });
  }

  stream(filter: Filter, options?: FindOptions): AsyncIterable<T> {
    const raw = this.raw;
    const store = this.store;
    // The transaction (if any) of the caller, not of whoever pulls the next document.
    const scope = store.activeScope();
    const fail = (err: unknown): never => this.fail(err, scope);
    return (async function* () {
      store.failFast();
      const cursor = raw.find(filter, { ...findOptions(options), session: scope?.session });
      try {
        for (;;) {
          // Each batch fetched from the server (the first, then each getMore) is an operation like any other:
          // admitted, and bounded by the operation timeout (a slow or silent server would otherwise hold the
          // reader until the socket times out). Documents already buffered cost nothing.
          let more = cursor.bufferedCount() > 0;
          if (!more) {
            try {
              more = await store.admission.run('read', () => store.bounded(cursor.hasNext()));
            } catch (err) {
              if (err instanceof DocumentStoreOverloadedError) throw err;
              fail(err);
            }
          }
          if (!more) return;
          let doc: Raw | null = null;
          try {
            doc = await cursor.next();
          } catch (err) {
            fail(err);
          }
          if (doc === null) return;
          yield doc as unknown as T;
        }
      } finally {
        await cursor.close().catch(() => undefined);
      }
    })();
  }

  async countDocuments(filter: Filter): Promise<number> {
    return this.guarded('read', async (session) => {
      return await this.raw.countDocuments(filter, { session });
    });
  }

  async insertOne(document: T): Promise<void> {
    return this.guarded('write', async (session) => {
      await this.raw.insertOne(document, { session });
    });
  }

  async updateOne(filter: Filter, update: Update, options?: UpdateOptions): Promise<UpdateResult> {
    return this.guarded('write', async (session) => {
      const upsert = options?.upsert ?? false;
      const r = await this.raw.updateOne(this.upsertFilter(filter, upsert), update, { upsert, session });
      return updateResult(r);
    });
  }

  async updateMany(filter: Filter, update: Update): Promise<UpdateResult> {
    return this.guarded('write', async (session) => {
      const r = await this.raw.updateMany(filter, update, { session });
      return updateResult(r);
    });
  }

  async replaceOne(filter: Filter, replacement: T, options?: UpdateOptions): Promise<UpdateResult> {
    return this.guarded('write', async (session) => {
      const upsert = options?.upsert ?? false;
      const r = await this.raw.replaceOne(this.upsertFilter(filter, upsert), replacement, { upsert, session });
      return updateResult(r);
    });
  }

  async deleteOne(filter: Filter): Promise<number> {
    return this.guarded('write', async (session) => {
      return (await this.raw.deleteOne(filter, { session })).deletedCount;
    });
  }

  async deleteMany(filter: Filter): Promise<number> {
    return this.guarded('write', async (session) => {
      return (await this.raw.deleteMany(filter, { session })).deletedCount;
    });
  }

  async bulkWrite(operations: readonly WriteOperation<T>[], options?: BulkWriteOptions): Promise<BulkWriteResult> {
    const empty: BulkWriteResult = {
      insertedCount: 0,
      matchedCount: 0,
      modifiedCount: 0,
      deletedCount: 0,
      upsertedCount: 0,
      duplicateKeyErrors: [],
    };
    if (operations.length === 0) return empty;
    this.store.failFast();
    const ordered = options?.ordered ?? true;
    if (this.store.isFerretDB && operations.some((op) => 'updateOne' in op || 'updateMany' in op || 'replaceOne' in op)) {
      return this.bulkWriteSequentially(operations, ordered);
    }
    const scope = this.store.activeScope();
    if (scope && scope.failed !== null) throw new TransactionAbortedError(scope.failed);
    try {
      const r = await this.store.admission.run('write', () =>
        this.store.bounded(this.raw.bulkWrite(operations as unknown as AnyBulkWriteOperation<Raw>[], { ordered, session: scope?.session })),
      );
      return {
        insertedCount: r.insertedCount,
        matchedCount: r.matchedCount,
        modifiedCount: r.modifiedCount,
        deletedCount: r.deletedCount,
        upsertedCount: r.upsertedCount,
        duplicateKeyErrors: [],
      };
    } catch (err) {
      // Not a bulk write's own failure (a closed connection, no server): an outage, mapped and failing fast like any other.
      if (!(err instanceof MongoBulkWriteError) || isUnavailable(err)) this.fail(err, scope);
      if (scope && isTransient(err)) throw err;
      const reported = err.writeErrors as WriteError | WriteError[] | undefined;
      const writeErrors: WriteError[] = Array.isArray(reported) ? reported : reported ? [reported] : [];
      const other = writeErrors.find(
        (w) => w.code !== DUPLICATE_KEY && !(w.code === INTERNAL_ERROR && /UNIQUE constraint failed/.test(w.errmsg ?? '')),
      );
      if (scope) scope.failed ??= err;
      if (other || err.err || writeErrors.length === 0) throw err;
      // Reported, not thrown, as everywhere; inside a transaction the server has aborted it nonetheless (scope.failed).
      return {
        insertedCount: err.result.insertedCount,
        matchedCount: err.result.matchedCount,
        modifiedCount: err.result.modifiedCount,
        deletedCount: err.result.deletedCount,
        upsertedCount: err.result.upsertedCount,
        duplicateKeyErrors: writeErrors.map((w) => w.index).sort((a, b) => a - b),
      };
    }
  }

  async createIndexes(indexes: readonly IndexSpec[]): Promise<void> {
    if (indexes.length === 0) return;
    let existing: Record<string, unknown>[] = [];
    try {
      existing = (await this.raw.listIndexes().toArray()) as Record<string, unknown>[];
    } catch (err) {
      if (!(err instanceof MongoServerError && err.code === NAMESPACE_NOT_FOUND)) this.fail(err);
    }
    const missing: IndexSpec[] = [];
    for (const spec of indexes) {
      const found = existing.find((i) => i['name'] === spec.name);
      if (!found) missing.push(spec);
      else if (!sameIndex(found, spec)) {
        throw new Error(`index ${spec.name} already exists on ${this.name} with different options`);
      }
    }
    if (missing.length === 0) return;
    const descriptions: IndexDescription[] = missing.map((spec) => {
      const d: IndexDescription = { key: spec.keys, name: spec.name };
      if (spec.unique) d.unique = true;
      if (spec.partialFilterExpression) d.partialFilterExpression = spec.partialFilterExpression;
      return d;
    });
    try {
      await this.raw.createIndexes(descriptions);
    } catch (err) {
      if (err instanceof MongoServerError && err.code === NOT_IMPLEMENTED && missing.some((i) => i.partialFilterExpression)) {
        throw new Error(
          `createIndexes on ${this.name}: partialFilterExpression is not supported by this server` +
            `${this.store.serverInfo.ferretdbVersion ? ` (FerretDB ${this.store.serverInfo.ferretdbVersion})` : ''}: ${err.message}`,
          { cause: err },
        );
      }
      if (isDuplicateKey(err)) {
        throw new DuplicateKeyError(this.name, missing.length === 1 ? missing[0]!.name : indexNameOf(err));
      }
      this.fail(err);
    }
  }

  async drop(): Promise<void> {
    this.store.failFast();
    try {
      await this.raw.drop();
    } catch (err) {
      if (err instanceof MongoServerError && err.code === NAMESPACE_NOT_FOUND) return;
      this.fail(err);
    }
  }
}

/** `hello`, or `isMaster` on servers older than 4.4.2 that do not know it. */
async function hello(db: Db): Promise<Record<string, unknown>> {
  try {
    return await db.admin().command({ hello: 1 });
  } catch (err) {
    if (err instanceof MongoServerError && err.code === COMMAND_NOT_FOUND) return await db.admin().command({ isMaster: 1 });
    throw err;
  }
}

export class MongoDocumentStore implements DocumentStore {
  readonly kind = 'mongodb' as const;
  /** Set once the server has refused `renameCollection` with `dropTarget` (FerretDB). */
  private dropTargetUnsupported = false;
  /** Whether withTransaction runs its function in a real transaction (the server offers them, and they are not turned off). */
  readonly transactions: boolean;
  /** The transaction attempt the current async context runs in, if any. Per store: a session belongs to one client. */
  private readonly scopes = new AsyncLocalStorage<TransactionScope>();

  private constructor(
    private readonly client: MongoClient,
    readonly db: Db,
    readonly serverInfo: MongoServerInfo,
    readonly transactionMode: TransactionMode,
    readonly operationTimeoutMS: number,
    readonly admission: Admission,
  ) {
    this.transactions = transactionMode !== 'off' && serverInfo.transactionSupport.supported;
  }

  /**
   * Connects and verifies that the server answers. Throws
   * DocumentStoreUnavailableError when no server is reachable within
   * `serverSelectionTimeoutMS` (default 5 s).
   */
  static async connect(uri: string, dbName: string, options: MongoDocumentStoreOptions = {}): Promise<MongoDocumentStore> {
    if (!uri) throw new Error('MongoDB URI is required');
    if (!dbName) throw new Error('MongoDB database name is required');
    const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    const clientOptions: MongoClientOptions = {
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 5000,
      ignoreUndefined: true,
      ...(options.connectTimeoutMS !== undefined ? { connectTimeoutMS: options.connectTimeoutMS } : {}),
      socketTimeoutMS: options.socketTimeoutMS ?? 60_000,
      // Admission control keeps at most maxInFlight data operations on the wire; the rest of the pool is for pings and cursors.
      maxPoolSize: Math.max(options.maxPoolSize ?? DEFAULT_POOL_SIZE, maxInFlight + POOL_HEADROOM),
      appName: options.appName ?? 'tenantry',
      ...options.clientOptions,
    };
    const client = new MongoClient(uri, clientOptions);
    const admission = new Admission({ maxInFlight, maxQueuedReads: options.maxQueuedReads ?? DEFAULT_MAX_QUEUED_READS });
    try {
      await client.connect();
      const db = client.db(dbName);
      const info = await db.admin().command({ buildInfo: 1 });
      const ferretdbVersion = typeof info['ferretdbVersion'] === 'string' ? info['ferretdbVersion'] : undefined;
      const mode = options.transactions ?? 'auto';
      const transactionSupport: TransactionSupport =
        mode === 'off' ? { supported: false, reason: 'not asked for' } : detectTransactionSupport(await hello(db), ferretdbVersion);
      if (mode === 'on' && !transactionSupport.supported) throw new MongoTransactionsUnsupportedError(transactionSupport.reason);
      const serverInfo: MongoServerInfo = { version: String(info['version'] ?? 'unknown'), transactionSupport };
      if (ferretdbVersion !== undefined) serverInfo.ferretdbVersion = ferretdbVersion;
      return new MongoDocumentStore(client, db, serverInfo, mode, options.operationTimeoutMS ?? 30_000, admission);
    } catch (err) {
      await client.close().catch(() => undefined);
      if (err instanceof MongoServerError && err.code === AUTHENTICATION_FAILED) {
        throw new DocumentStoreRefusedError(`MongoDB refused the credentials in its URI: ${err.message}`, { cause: err });
      }
      throw mapError(err, '');
    }
  }

  /**
   * `operation`, or a DocumentStoreUnavailableError once operationTimeoutMS
   * has passed without an answer. The driver bounds server selection, but an
   * operation can still wait without end inside it (an operation on a
   * connection the server's restart left behind was seen to); a projection
   * that awaits it would stand still, reporting nothing, for good.
   */
  async bounded<R>(operation: Promise<R>): Promise<R> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new MongoOperationTimeoutError(`MongoDB did not answer within ${this.operationTimeoutMS} ms`)),
        this.operationTimeoutMS,
      );
      timer.unref();
    });
    try {
      return await Promise.race([operation, deadline]);
    } finally {
      clearTimeout(timer);
      // An abandoned operation that fails later must not surface as an unhandled rejection.
      operation.catch(() => undefined);
    }
  }

  /** The open transaction attempt of the calling async context, if any. */
  activeScope(): TransactionScope | undefined {
    const scope = this.scopes.getStore();
    return scope?.open ? scope : undefined;
  }

  /**
   * Runs `fn` in one multi-document transaction (snapshot reads, majority
   * commit) when `transactions` is true; otherwise just runs it. Every
   * collection operation `fn` makes joins the transaction by itself. The
   * driver runs `fn` again on a TransientTransactionError (a write conflict,
   * a failover) and retries an unknown commit result, for up to 120 s; any
   * other error aborts and is thrown, mapped like every error of this
   * adapter. A call inside an open transaction joins it.
   *
   * NOT VERIFIED HERE: no replica set exists on the development machine; see
   * the file comment.
   */
  async withTransaction<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.transactions || this.activeScope()) return fn();
    this.failFast();
    const session = this.client.startSession();
    try {
      return await session.withTransaction(
        async () => {
          const scope: TransactionScope = { session, open: true, failed: null };
          try {
            const result = await this.scopes.run(scope, fn);
            // The caller caught a failure and went on: the server has aborted the transaction anyway.
            if (scope.failed !== null) throw new TransactionAbortedError(scope.failed);
            return result;
          } finally {
            scope.open = false;
          }
        },
        { readConcern: { level: 'snapshot' }, writeConcern: { w: 'majority' } },
      );
    } catch (err) {
      const mapped = mapError(err, '');
      if (mapped instanceof DocumentStoreUnavailableError) this.outage(mapped);
      throw mapped;
    } finally {
      await session.endSession().catch(() => undefined);
    }
  }

  get isFerretDB(): boolean {
    return this.serverInfo.ferretdbVersion !== undefined;
  }

  collection<T extends Document = Document>(name: string): Collection<T> {
    return new MongoCollection<T>(this, this.db.collection<Raw>(name));
  }

  async listCollections(): Promise<string[]> {
    try {
      const infos = await this.db.listCollections({}, { nameOnly: true }).toArray();
      return infos.map((i) => i.name).filter((n) => !n.startsWith('system.'));
    } catch (err) {
      throw mapError(err, '');
    }
  }

  /**
   * Renames `from` to `to`, replacing `to`. On MongoDB this is one atomic
   * `renameCollection` with `dropTarget: true`.
   *
   * FerretDB 1.x does not implement `dropTarget` (NotImplemented, code 238).
   * There the rename is emulated as "drop `to`, then rename": NOT atomic —
   * between the two steps readers see no `to` collection, and a crash in
   * between leaves `to` missing (the data is still in `from`, so repeating the
   * rename completes it). The source is checked first, so a missing `from`
   * never costs the target.
   */
  async renameCollection(from: string, to: string): Promise<void> {
    try {
      if (!this.dropTargetUnsupported) {
        try {
          await this.db.renameCollection(from, to, { dropTarget: true });
          return;
        } catch (err) {
          if (!(err instanceof MongoServerError && err.code === NOT_IMPLEMENTED)) throw err;
          this.dropTargetUnsupported = true;
        }
      }
      const exists = await this.db.listCollections({ name: from }, { nameOnly: true }).toArray();
      if (exists.length === 0) throw new Error(`cannot rename collection ${from}: it does not exist`);
      if (from === to) throw new Error(`cannot rename collection ${from} to itself`);
      await this.db.dropCollection(to).catch((err: unknown) => {
        if (!(err instanceof MongoServerError && err.code === NAMESPACE_NOT_FOUND)) throw err;
      });
      await this.db.renameCollection(from, to);
    } catch (err) {
      throw mapError(err, from);
    }
  }

  admissionStats(): AdmissionStats {
    return this.admission.stats();
  }

  async ping(): Promise<void> {
    try {
      await this.db.command({ ping: 1 });
      this.markUp();
    } catch (err) {
      throw mapError(err, '');
    }
  }

  /**
   * A circuit breaker: after an outage error every operation fails at once
   * (instead of each waiting out server selection) until a background ping
   * succeeds. Callers that can do without the read models (the write path
   * falls back to the log) then answer in milliseconds, not seconds.
   */
  private down = false;
  private probe: NodeJS.Timeout | null = null;
  /** How long one probe ping may take before the next one is sent regardless. */
  private static readonly PROBE_TIMEOUT_MS = 2_000;

  /**
   * What an unavailable-error says about the server. A refused connection, a
   * cleared pool, a failed server selection: it is down, fail fast. One slow
   * operation is not an outage: the server may be alive and busy (catching
   * up after a restart, every projection writing at once). Tripping the
   * breaker then made every projection fail and back off together, retry
   * together, overload it again, and never catch up under load. So a
   * timeout only asks a ping, and the breaker opens if the ping fails too.
   */
  outage(error: DocumentStoreUnavailableError): void {
    if (!(error instanceof MongoOperationTimeoutError)) return this.markDown();
    if (this.down || this.suspecting) return;
    this.suspecting = true;
    // Bounded by our own timer as well: a ping on a connection that gets no answer may outlive the driver's timeoutMS.
    let timer: NodeJS.Timeout | undefined;
    const unanswered = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('no answer to the ping')), MongoDocumentStore.PROBE_TIMEOUT_MS);
      timer.unref();
    });
    Promise.race([this.db.command({ ping: 1 }, { timeoutMS: MongoDocumentStore.PROBE_TIMEOUT_MS }), unanswered])
      .then(
        () => undefined,
        () => this.markDown(),
      )
      .finally(() => clearTimeout(timer))
      .finally(() => (this.suspecting = false));
  }

  private suspecting = false;

  failFast(): void {
    if (this.down) throw new DocumentStoreUnavailableError('MongoDB unavailable (failing fast until it answers a ping again)');
  }

  markDown(): void {
    if (this.down) return;
    this.down = true;
    // A ping that never answers must not end the probing: each one is bounded
    // (the driver's timeoutMS), and one that outlives even that is given up on.
    let probingSince = 0;
    this.probe = setInterval(() => {
      if (probingSince !== 0 && Date.now() - probingSince < 2 * MongoDocumentStore.PROBE_TIMEOUT_MS) return;
      const started = Date.now();
      probingSince = started;
      this.db
        .command({ ping: 1 }, { timeoutMS: MongoDocumentStore.PROBE_TIMEOUT_MS })
        .then(() => this.markUp())
        .catch(() => undefined)
        .finally(() => {
          if (probingSince === started) probingSince = 0;
        });
    }, 500);
    this.probe.unref();
  }

  private markUp(): void {
    this.down = false;
    if (this.probe) clearInterval(this.probe);
    this.probe = null;
  }

  async close(): Promise<void> {
    this.markUp();
    await this.client.close();
  }

  /** Drops the whole database (tests and tenant-less teardown only). */
  async dropDatabase(): Promise<void> {
    try {
      await this.db.dropDatabase();
    } catch (err) {
      throw mapError(err, '');
    }
  }
}
