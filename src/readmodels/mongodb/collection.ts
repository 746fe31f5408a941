/**
 * Collection handles of the MongoDB store: the port's operations on a driver
 * collection, each admitted, bounded by the operation timeout, failing fast
 * while the server is down, joining the caller's transaction, and with its
 * errors mapped to the port's (./errors.ts). In bulkWrite, the indexes of
 * the operations that failed on a duplicate key → `duplicateKeyErrors` (never
 * thrown).
 */
import {
  MongoBulkWriteError,
  MongoServerError,
  type AnyBulkWriteOperation,
  type ClientSession,
  type Collection as DriverCollection,
  type FindOptions as DriverFindOptions,
  type IndexDescription,
  type WriteError,
} from 'mongodb';
import {
  DocumentStoreOverloadedError,
  DocumentStoreUnavailableError,
  DuplicateKeyError,
  type BulkWriteOptions,
  type BulkWriteResult,
  type Collection,
  type Document,
  type Filter,
  type FindOptions,
  type IndexSpec,
  type Update,
  type UpdateOptions,
  type UpdateResult,
  type WriteOperation,
} from '../port.js';
import type { Admission, OperationKind } from '../admission.js';
import {
  DUPLICATE_KEY,
  INTERNAL_ERROR,
  NAMESPACE_NOT_FOUND,
  NOT_IMPLEMENTED,
  indexNameOf,
  isDuplicateKey,
  isSqliteBusy,
  isUnavailable,
  mapError,
} from './errors.js';
import { bulkWriteSequentially, flattenAnd } from './quirks.js';
import type { MongoServerInfo } from './server.js';
import { isTransient, TransactionAbortedError, type TransactionScope } from './transactions.js';

export type Raw = Record<string, unknown> & { _id: unknown };

/** What collection handles use of their store (an interface, so that the store can create them without an import cycle). */
export interface StoreHost {
  readonly admission: Admission;
  readonly serverInfo: MongoServerInfo;
  readonly isFerretDB: boolean;
  failFast(): void;
  activeScope(): TransactionScope | undefined;
  bounded<R>(operation: Promise<R>): Promise<R>;
  outage(error: DocumentStoreUnavailableError): void;
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
export class MongoCollection<T extends Document> implements Collection<T> {
  constructor(
    private readonly store: StoreHost,
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
      return bulkWriteSequentially(this, operations, ordered);
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
