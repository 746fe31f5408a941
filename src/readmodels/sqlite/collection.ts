/** Collection handles of the SQLite store: the port's operations, each one atomic. */
import { randomUUID } from 'node:crypto';
import {
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
import { compileFilter, makeProjector } from '../memory/filters.js';
import { applyUpdate, assertReplacement, assertUpdateDocument, seedFromFilter } from '../memory/updates.js';
import { deepEqual, isPlainObject, type Plain } from '../memory/values.js';
import type { CollectionInfo } from './catalog.js';
import { countDocuments, iterateDocuments, selectDocuments, TableWriter, type SelectOptions, type Statements } from './table.js';
import type { Catalog } from './catalog.js';
import type { DocumentCache } from './document-cache.js';

/** What collection handles need of the store. */
export interface SqliteHost {
  /** Runs `fn` with the connection reads use in the caller's context (its transaction's, if any). */
  read<R>(fn: (statements: Statements, catalog: Catalog) => R): R;
  /** Runs `fn` in a write transaction (joining the caller's, if any), after any other context's transaction. */
  write<R>(fn: (statements: Statements, catalog: Catalog) => R): Promise<R>;
  /** Runs `fn` on a read connection of its own (a stream's: it may stay open long); `close` ends it. */
  streamRead<R>(fn: (statements: Statements, catalog: Catalog) => R): { result: R; close: () => void };
  /** Whether the caller runs inside a transaction of this store. */
  inScope(): boolean;
  /** Gives the event loop a turn when a slice of synchronous work is spent. */
  pace(): Promise<void>;
  /** Parsed documents reads share (./document-cache.ts). */
  readonly cache: DocumentCache;
}

/** Documents a stream reads between two turns of the event loop. */
const STREAM_CHUNK = 256;

const EMPTY_BULK = (): BulkWriteResult => ({
  insertedCount: 0,
  matchedCount: 0,
  modifiedCount: 0,
  deletedCount: 0,
  upsertedCount: 0,
  duplicateKeyErrors: [],
});

/** Whether a read asks for some fields only (an empty projection is the whole document). */
function hasProjection(options: FindOptions): boolean {
  return options.projection !== undefined && Object.keys(options.projection).length > 0;
}

const IMMUTABLE_ID = "Performing an update on the path '_id' would modify the immutable field '_id'";

export class SqliteCollection<T extends Document> implements Collection<T> {
  constructor(
    private readonly host: SqliteHost,
    readonly name: string,
  ) {}

  /**
   * Reads pass the store's cache: the documents they return are shared and
   * deep-frozen. Writes do not: they change (copies of) what they read.
   */
  private select(
    statements: Statements,
    catalog: Catalog,
    filter: Filter,
    options: SelectOptions = {},
    cache: DocumentCache | null = null,
  ): Plain[] {
    const matcher = compileFilter(filter); // also rejects malformed filters on a missing collection
    const info = catalog.get(this.name);
    return info ? selectDocuments(statements, info, filter, matcher, options, cache) : [];
  }

  async findOne(filter: Filter, options: FindOptions = {}): Promise<T | null> {
    await this.host.pace();
    const [doc] = this.host.read((s, c) => this.select(s, c, filter, { ...options, limit: 1 }, this.host.cache));
    if (!doc) return null;
    return (hasProjection(options) ? makeProjector(options.projection)(doc) : doc) as T;
  }

  async find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    await this.host.pace();
    const docs = this.host.read((s, c) => this.select(s, c, filter, options, this.host.cache));
    if (!hasProjection(options)) return docs as T[];
    const project = makeProjector(options.projection);
    return docs.map((d) => project(d) as T);
  }

  stream(filter: Filter, options: FindOptions = {}): AsyncIterable<T> {
    const host = this.host;
    const name = this.name;
    const project = hasProjection(options) ? makeProjector(options.projection) : (d: Plain) => d;
    return (async function* () {
      const matcher = compileFilter(filter);
      if (host.inScope() || options.skip || options.limit) {
        // Inside a transaction the connection also writes: read everything first.
        const docs = host.read((s, c) => {
          const info = c.get(name);
          return info ? selectDocuments(s, info, filter, matcher, options) : [];
        });
        for (const doc of docs) yield project(doc) as T;
        return;
      }
      // A connection of its own: its open statement must not hold the shared reader's snapshot (see streamRead).
      const { result: iterator, close } = host.streamRead((s, c) => {
        const info = c.get(name);
        return info ? iterateDocuments(s, info, filter, matcher, options.sort) : null;
      });
      try {
        if (!iterator) return;
        try {
          let n = 0;
          for (const doc of iterator) {
            yield project(doc) as T;
            if (++n % STREAM_CHUNK === 0) await new Promise<void>((resolve) => setImmediate(resolve));
          }
        } finally {
          iterator.return(undefined);
        }
      } finally {
        close();
      }
    })();
  }

  async countDocuments(filter: Filter): Promise<number> {
    await this.host.pace();
    const matcher = compileFilter(filter);
    return this.host.read((s, c) => {
      const info = c.get(this.name);
      return info ? countDocuments(s, info, filter, matcher) : 0;
    });
  }

  async insertOne(document: T): Promise<void> {
    await this.host.write((s, c) => this.insertSync(s, c, document));
  }

  async updateOne(filter: Filter, update: Update, options: UpdateOptions = {}): Promise<UpdateResult> {
    assertUpdateDocument(update);
    return this.host.write((s, c) => this.updateSync(s, c, filter, update, options.upsert ?? false, false));
  }

  async updateMany(filter: Filter, update: Update): Promise<UpdateResult> {
    assertUpdateDocument(update);
    return this.host.write((s, c) => this.updateSync(s, c, filter, update, false, true));
  }

  async replaceOne(filter: Filter, replacement: T, options: UpdateOptions = {}): Promise<UpdateResult> {
    assertReplacement(replacement);
    return this.host.write((s, c) => this.replaceSync(s, c, filter, replacement, options.upsert ?? false));
  }

  async deleteOne(filter: Filter): Promise<number> {
    return this.host.write((s, c) => this.deleteSync(s, c, filter, false));
  }

  async deleteMany(filter: Filter): Promise<number> {
    return this.host.write((s, c) => this.deleteSync(s, c, filter, true));
  }

  async bulkWrite(operations: readonly WriteOperation<T>[], options: BulkWriteOptions = {}): Promise<BulkWriteResult> {
    const result = EMPTY_BULK();
    if (operations.length === 0) return result;
    const ordered = options.ordered ?? true;
    let failure: Error | undefined;
    await this.host.write((s, c) => {
      for (let i = 0; i < operations.length; i++) {
        const op = operations[i]!;
        try {
          if ('insertOne' in op) {
            this.insertSync(s, c, op.insertOne.document);
            result.insertedCount++;
          } else if ('deleteOne' in op) {
            result.deletedCount += this.deleteSync(s, c, op.deleteOne.filter, false);
          } else if ('deleteMany' in op) {
            result.deletedCount += this.deleteSync(s, c, op.deleteMany.filter, true);
          } else {
            let r: UpdateResult;
            if ('updateOne' in op) {
              assertUpdateDocument(op.updateOne.update);
              r = this.updateSync(s, c, op.updateOne.filter, op.updateOne.update, op.updateOne.upsert ?? false, false);
            } else if ('updateMany' in op) {
              assertUpdateDocument(op.updateMany.update);
              r = this.updateSync(s, c, op.updateMany.filter, op.updateMany.update, false, true);
            } else if ('replaceOne' in op) {
              assertReplacement(op.replaceOne.replacement);
              r = this.replaceSync(s, c, op.replaceOne.filter, op.replaceOne.replacement, op.replaceOne.upsert ?? false);
            } else throw new Error(`unknown bulk write operation at index ${i}: ${JSON.stringify(Object.keys(op))}`);
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
          if (ordered) throw err;
          failure ??= err instanceof Error ? err : new Error('bulk write operation failed', { cause: err });
        }
      }
    });
    if (failure !== undefined) throw failure;
    return result;
  }

  async createIndexes(indexes: readonly IndexSpec[]): Promise<void> {
    if (indexes.length === 0) return;
    await this.host.write((s, c) => {
      const info = c.create(this.name);
      for (const spec of indexes) {
        const existing = info.indexes.find((i) => i.spec.name === spec.name);
        if (existing) {
          const same =
            deepEqual(existing.spec.keys, spec.keys) &&
            Boolean(existing.spec.unique) === Boolean(spec.unique) &&
            deepEqual(existing.spec.partialFilterExpression ?? null, spec.partialFilterExpression ?? null);
          if (!same) throw new Error(`index ${spec.name} already exists on ${this.name} with different options`);
          continue;
        }
        if (spec.name === '_id_') continue;
        if (spec.partialFilterExpression) compileFilter(spec.partialFilterExpression);
        new TableWriter(s, c, info).createIndex(JSON.parse(JSON.stringify(spec)) as IndexSpec);
      }
    });
  }

  async drop(): Promise<void> {
    await this.host.write((_s, c) => c.drop(this.name));
  }

  // --- synchronous cores, inside a write transaction ---

  private writer(statements: Statements, catalog: Catalog): TableWriter {
    return new TableWriter(statements, catalog, catalog.create(this.name));
  }

  private existing(catalog: Catalog): CollectionInfo | undefined {
    return catalog.get(this.name);
  }

  private insertSync(statements: Statements, catalog: Catalog, document: T): void {
    if (!isPlainObject(document)) throw new Error('document must be an object');
    const doc = document as Plain;
    if (Object.keys(doc)[0] === '_id') {
      this.writer(statements, catalog).insert(doc);
      return;
    }
    const { _id = randomUUID(), ...rest } = doc;
    this.writer(statements, catalog).insert({ _id, ...rest });
  }

  private updateSync(
    statements: Statements,
    catalog: Catalog,
    filter: Filter,
    update: Update,
    upsert: boolean,
    many: boolean,
  ): UpdateResult {
    let matched = 0;
    let modified = 0;
    const info = this.existing(catalog);
    const targets = this.select(statements, catalog, filter, { limit: many ? 0 : 1 });
    if (info) {
      const writer = new TableWriter(statements, catalog, info);
      for (const prev of targets) {
        matched++;
        const next = JSON.parse(JSON.stringify(prev)) as Plain;
        if (!applyUpdate(next, update, false)) continue;
        if (!deepEqual(next['_id'], prev['_id'])) throw new Error(IMMUTABLE_ID);
        writer.replace(prev, next);
        modified++;
      }
    }
    if (matched > 0 || !upsert) return { matchedCount: matched, modifiedCount: modified, upsertedCount: 0 };
    const doc = seedFromFilter(filter);
    const seededId = doc['_id'];
    applyUpdate(doc, update, true);
    if (seededId !== undefined && !deepEqual(doc['_id'], seededId)) throw new Error(IMMUTABLE_ID);
    const { _id = randomUUID(), ...rest } = doc;
    this.writer(statements, catalog).insert({ _id, ...rest });
    return { matchedCount: 0, modifiedCount: 0, upsertedCount: 1 };
  }

  private replaceSync(statements: Statements, catalog: Catalog, filter: Filter, replacement: T, upsert: boolean): UpdateResult {
    const info = this.existing(catalog);
    const [prev] = this.select(statements, catalog, filter, { limit: 1 });
    if (info && prev) {
      const { _id: given, ...body } = replacement as Plain;
      if (given !== undefined && !deepEqual(JSON.parse(JSON.stringify(given)), prev['_id'])) {
        throw new Error("the (immutable) field '_id' was found to have been altered");
      }
      // Serialized once: the stored text, and (parsed back) the document as stored, for the indexes.
      // A large document (a 200 KB flow source) is not copied through JSON a second time.
      const text = JSON.stringify({ _id: prev['_id'], ...body });
      const next = JSON.parse(text) as Plain;
      if (deepEqual(next, prev)) return { matchedCount: 1, modifiedCount: 0, upsertedCount: 0 };
      new TableWriter(statements, catalog, info).replace(prev, next, text);
      return { matchedCount: 1, modifiedCount: 1, upsertedCount: 0 };
    }
    if (!upsert) return { matchedCount: 0, modifiedCount: 0, upsertedCount: 0 };
    const body = JSON.parse(JSON.stringify(replacement)) as Plain;
    let id = body['_id'];
    if (id === undefined) id = seedFromFilter(filter)['_id'] ?? randomUUID();
    delete body['_id'];
    this.writer(statements, catalog).insert({ _id: id, ...body });
    return { matchedCount: 0, modifiedCount: 0, upsertedCount: 1 };
  }

  private deleteSync(statements: Statements, catalog: Catalog, filter: Filter, many: boolean): number {
    const info = this.existing(catalog);
    const victims = this.select(statements, catalog, filter, { limit: many ? 0 : 1 });
    if (!info) return 0;
    const writer = new TableWriter(statements, catalog, info);
    for (const doc of victims) writer.remove(doc);
    return victims.length;
  }
}
