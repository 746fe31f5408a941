/**
 * The production DocumentStore adapter: a thin layer over the official
 * MongoDB driver. The port mirrors the driver's shapes, so this file mostly
 * maps errors:
 *
 * - E11000 (code 11000) → DuplicateKeyError; in bulkWrite, the indexes of the
 *   failed operations → `duplicateKeyErrors` (never thrown);
 * - server selection / network / closed-client failures →
 *   DocumentStoreUnavailableError.
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
 */
import {
  MongoBulkWriteError,
  MongoClient,
  MongoClientClosedError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type AnyBulkWriteOperation,
  type Collection as DriverCollection,
  type Db,
  type FindOptions as DriverFindOptions,
  type IndexDescription,
  type MongoClientOptions,
  type WriteError,
} from 'mongodb';
import {
  DocumentStoreUnavailableError,
  DuplicateKeyError,
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

/** DuplicateKeyError.index when the server does not say which index was violated (FerretDB). */
export const UNKNOWN_INDEX = '(unknown)';

const DUPLICATE_KEY = 11000;
const NAMESPACE_NOT_FOUND = 26;
const NOT_IMPLEMENTED = 238;
const INTERNAL_ERROR = 1;

export interface MongoDocumentStoreOptions {
  /** How long an operation waits for a reachable server. Default 5000 ms. */
  serverSelectionTimeoutMS?: number;
  connectTimeoutMS?: number;
  maxPoolSize?: number;
  appName?: string;
  /** Extra driver options, applied last. */
  clientOptions?: MongoClientOptions;
}

export interface MongoServerInfo {
  /** MongoDB version the server reports (FerretDB reports the version it emulates). */
  version: string;
  /** Set when the server is FerretDB. */
  ferretdbVersion?: string;
}

type Raw = Record<string, unknown> & { _id: unknown };

function isUnavailable(err: unknown): boolean {
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

  /** Every operation: fail fast while the server is known down (circuit breaker), and map driver errors to the port's. */
  private async guarded<R>(operation: () => Promise<R>): Promise<R> {
    this.store.failFast();
    try {
      return await operation();
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): never {
    const mapped = mapError(err, this.name);
    if (mapped instanceof DocumentStoreUnavailableError) this.store.markDown();
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
    return this.guarded(async () => {
      return (await this.raw.findOne(filter, findOptions(options))) as T | null;
    });
  }

  async find(filter: Filter, options?: FindOptions): Promise<T[]> {
    return this.guarded(async () => {
      return (await this.raw.find(filter, findOptions(options)).toArray()) as T[];
    });
  }

  stream(filter: Filter, options?: FindOptions): AsyncIterable<T> {
    const raw = this.raw;
    const fail = (err: unknown): never => this.fail(err);
    return (async function* () {
      const cursor = raw.find(filter, findOptions(options));
      try {
        for await (const doc of cursor) yield doc as T;
      } catch (err) {
        fail(err);
      } finally {
        await cursor.close().catch(() => undefined);
      }
    })();
  }

  async countDocuments(filter: Filter): Promise<number> {
    return this.guarded(async () => {
      return await this.raw.countDocuments(filter);
    });
  }

  async insertOne(document: T): Promise<void> {
    return this.guarded(async () => {
      await this.raw.insertOne(document);
    });
  }

  async updateOne(filter: Filter, update: Update, options?: UpdateOptions): Promise<UpdateResult> {
    return this.guarded(async () => {
      const upsert = options?.upsert ?? false;
      const r = await this.raw.updateOne(this.upsertFilter(filter, upsert), update, { upsert });
      return updateResult(r);
    });
  }

  async updateMany(filter: Filter, update: Update): Promise<UpdateResult> {
    return this.guarded(async () => {
      const r = await this.raw.updateMany(filter, update);
      return updateResult(r);
    });
  }

  async replaceOne(filter: Filter, replacement: T, options?: UpdateOptions): Promise<UpdateResult> {
    return this.guarded(async () => {
      const upsert = options?.upsert ?? false;
      const r = await this.raw.replaceOne(this.upsertFilter(filter, upsert), replacement, { upsert });
      return updateResult(r);
    });
  }

  async deleteOne(filter: Filter): Promise<number> {
    return this.guarded(async () => {
      return (await this.raw.deleteOne(filter)).deletedCount;
    });
  }

  async deleteMany(filter: Filter): Promise<number> {
    return this.guarded(async () => {
      return (await this.raw.deleteMany(filter)).deletedCount;
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
    const ordered = options?.ordered ?? true;
    if (this.store.isFerretDB && operations.some((op) => 'updateOne' in op || 'updateMany' in op || 'replaceOne' in op)) {
      return this.bulkWriteSequentially(operations, ordered);
    }
    try {
      const r = await this.raw.bulkWrite(operations as unknown as AnyBulkWriteOperation<Raw>[], { ordered });
      return {
        insertedCount: r.insertedCount,
        matchedCount: r.matchedCount,
        modifiedCount: r.modifiedCount,
        deletedCount: r.deletedCount,
        upsertedCount: r.upsertedCount,
        duplicateKeyErrors: [],
      };
    } catch (err) {
      if (!(err instanceof MongoBulkWriteError)) this.fail(err);
      const reported = err.writeErrors as WriteError | WriteError[] | undefined;
      const writeErrors: WriteError[] = Array.isArray(reported) ? reported : reported ? [reported] : [];
      const other = writeErrors.find(
        (w) => w.code !== DUPLICATE_KEY && !(w.code === INTERNAL_ERROR && /UNIQUE constraint failed/.test(w.errmsg ?? '')),
      );
      if (other || err.err || writeErrors.length === 0) throw err;
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

export class MongoDocumentStore implements DocumentStore {
  readonly kind = 'mongodb' as const;
  /** Set once the server has refused `renameCollection` with `dropTarget` (FerretDB). */
  private dropTargetUnsupported = false;

  private constructor(
    private readonly client: MongoClient,
    readonly db: Db,
    readonly serverInfo: MongoServerInfo,
  ) {}

  /**
   * Connects and verifies that the server answers. Throws
   * DocumentStoreUnavailableError when no server is reachable within
   * `serverSelectionTimeoutMS` (default 5 s).
   */
  static async connect(uri: string, dbName: string, options: MongoDocumentStoreOptions = {}): Promise<MongoDocumentStore> {
    if (!uri) throw new Error('MongoDB URI is required');
    if (!dbName) throw new Error('MongoDB database name is required');
    const clientOptions: MongoClientOptions = {
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 5000,
      ignoreUndefined: true,
      ...(options.connectTimeoutMS !== undefined ? { connectTimeoutMS: options.connectTimeoutMS } : {}),
      ...(options.maxPoolSize !== undefined ? { maxPoolSize: options.maxPoolSize } : {}),
      appName: options.appName ?? 'tenantry',
      ...options.clientOptions,
    };
    const client = new MongoClient(uri, clientOptions);
    try {
      await client.connect();
      const db = client.db(dbName);
      const info = await db.admin().command({ buildInfo: 1 });
      const serverInfo: MongoServerInfo = { version: String(info['version'] ?? 'unknown') };
      if (typeof info['ferretdbVersion'] === 'string') serverInfo.ferretdbVersion = info['ferretdbVersion'];
      return new MongoDocumentStore(client, db, serverInfo);
    } catch (err) {
      await client.close().catch(() => undefined);
      throw mapError(err, '');
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

  failFast(): void {
    if (this.down) throw new DocumentStoreUnavailableError('MongoDB unavailable (failing fast until it answers a ping again)');
  }

  markDown(): void {
    if (this.down) return;
    this.down = true;
    let probing = false;
    this.probe = setInterval(() => {
      if (probing) return;
      probing = true;
      this.db
        .command({ ping: 1 })
        .then(() => this.markUp())
        .catch(() => undefined)
        .finally(() => (probing = false));
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
