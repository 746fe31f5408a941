/** Collection handles of the memory store: the port's operations on a collection's state. */
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
import { compileFilter, makeProjector } from './filters.js';
import { countMatches, findDocuments, type SelectOptions } from './execute.js';
import type { CollectionState } from './state.js';
import { applyUpdate, assertReplacement, assertUpdateDocument, isTopLevelUpdate, seedFromFilter } from './updates.js';
import { compareValues, copyData, deepEqual, isPlainObject, type Plain } from './values.js';

/** Where collection handles find their state (the store). */
export interface StateHost {
  state(name: string, create?: boolean): CollectionState | undefined;
  dropState(name: string): void;
}

/** Documents selected at a time by a stream sorted on one field. */
const STREAM_PAGE = 512;

const EMPTY_BULK = (): BulkWriteResult => ({
  insertedCount: 0,
  matchedCount: 0,
  modifiedCount: 0,
  deletedCount: 0,
  upsertedCount: 0,
  duplicateKeyErrors: [],
});

export class MemoryCollection<T extends Document> implements Collection<T> {
  constructor(
    private readonly store: StateHost,
    readonly name: string,
  ) {}

  private get state(): CollectionState | undefined {
    return this.store.state(this.name);
  }

  private get writable(): CollectionState {
    return this.store.state(this.name, true)!;
  }

  /** Matching stored documents (references), sorted, skipped and limited. */
  private select(filter: Filter, options: SelectOptions = {}): Plain[] {
    const matcher = compileFilter(filter); // also rejects malformed filters on a missing collection
    const state = this.state;
    return state ? findDocuments(state, filter, matcher, options) : [];
  }

  async findOne(filter: Filter, options: FindOptions = {}): Promise<T | null> {
    const [doc] = this.select(filter, { ...options, limit: 1 });
    return doc ? (makeProjector(options.projection)(doc) as T) : null;
  }

  async find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    const project = makeProjector(options.projection);
    return this.select(filter, options).map((d) => project(d) as T);
  }

  stream(filter: Filter, options: FindOptions = {}): AsyncIterable<T> {
    // Like a MongoDB cursor, nothing runs before the first pull, and copies
    // are made one at a time as the caller pulls.
    const project = makeProjector(options.projection);
    const sortKeys = Object.entries(options.sort ?? {});
    const [only] = sortKeys;
    if (sortKeys.length !== 1 || !only || options.skip || options.limit) {
      // Selected at once: the references are a consistent snapshot (stored documents are immutable).
      const select = (): Plain[] => this.select(filter, options);
      return (async function* () {
        for (const doc of select()) yield project(doc) as T;
      })();
    }
    // Sorted on one field (positions, in practice): selected a page at a time, each page starting
    // after the last value seen, so that streaming a long history never selects it all in one
    // synchronous step (the event loop runs between pages). As with a MongoDB cursor, documents
    // written meanwhile may be seen.
    const [field, direction] = only;
    const select = (bound: Filter | null, limit: number): Plain[] =>
      this.select(bound ? { $and: [filter, bound] } : filter, { sort: options.sort, limit });
    return (async function* () {
      let bound: Filter | null = null;
      let last: unknown = undefined;
      /** `_id`s already handed out whose sort value is `last` (the next page starts at `last` again). */
      let atLast = new Set<unknown>();
      for (let size = STREAM_PAGE; ;) {
        const page = select(bound, size);
        let fresh = 0;
        for (const doc of page) {
          const value = doc[field];
          const same = last !== undefined && compareValues(value, last) === 0;
          if (same && atLast.has(doc['_id'])) continue;
          if (!same) {
            last = value;
            atLast = new Set();
          }
          atLast.add(doc['_id']);
          fresh++;
          yield project(doc) as T;
        }
        if (page.length < size) return;
        // A page made only of documents sharing the last value: look further at once.
        size = fresh === 0 ? size * 2 : STREAM_PAGE;
        bound = { [field]: { [direction === 1 ? '$gte' : '$lte']: last } };
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    })();
  }

  async countDocuments(filter: Filter): Promise<number> {
    const state = this.state;
    if (!state) return 0;
    if (Object.keys(filter).length === 0) return state.docs.size;
    return countMatches(state, filter, compileFilter(filter));
  }

  async insertOne(document: T): Promise<void> {
    this.insertSync(document);
  }

  async updateOne(filter: Filter, update: Update, options: UpdateOptions = {}): Promise<UpdateResult> {
    return this.updateSync(filter, update, options.upsert ?? false, false);
  }

  async updateMany(filter: Filter, update: Update): Promise<UpdateResult> {
    return this.updateSync(filter, update, false, true);
  }

  async replaceOne(filter: Filter, replacement: T, options: UpdateOptions = {}): Promise<UpdateResult> {
    return this.replaceSync(filter, replacement, options.upsert ?? false);
  }

  async deleteOne(filter: Filter): Promise<number> {
    return this.deleteSync(filter, false);
  }

  async deleteMany(filter: Filter): Promise<number> {
    return this.deleteSync(filter, true);
  }

  async bulkWrite(operations: readonly WriteOperation<T>[], options: BulkWriteOptions = {}): Promise<BulkWriteResult> {
    const ordered = options.ordered ?? true;
    const result = EMPTY_BULK();
    let failure: Error | undefined;
    for (let i = 0; i < operations.length; i++) {
      const op = operations[i]!;
      try {
        if ('insertOne' in op) {
          this.insertSync(op.insertOne.document, options.handOver === true);
          result.insertedCount++;
        } else if ('deleteOne' in op) {
          result.deletedCount += this.deleteSync(op.deleteOne.filter, false);
        } else if ('deleteMany' in op) {
          result.deletedCount += this.deleteSync(op.deleteMany.filter, true);
        } else {
          let r: UpdateResult;
          if ('updateOne' in op) r = this.updateSync(op.updateOne.filter, op.updateOne.update, op.updateOne.upsert ?? false, false);
          else if ('updateMany' in op) r = this.updateSync(op.updateMany.filter, op.updateMany.update, false, true);
          else if ('replaceOne' in op) r = this.replaceSync(op.replaceOne.filter, op.replaceOne.replacement, op.replaceOne.upsert ?? false);
          else throw new Error(`unknown bulk write operation at index ${i}: ${JSON.stringify(Object.keys(op))}`);
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
    if (failure !== undefined) throw failure;
    return result;
  }

  async createIndexes(indexes: readonly IndexSpec[]): Promise<void> {
    this.writable.createIndexes(this.name, indexes);
  }

  async drop(): Promise<void> {
    this.store.dropState(this.name);
  }

  /** Index specs, for diagnostics and tests. */
  listIndexes(): IndexSpec[] {
    return [...(this.state?.indexes.values() ?? [])].map((s) => structuredClone(s));
  }

  // --- synchronous cores (atomic) ---

  private insertSync(document: T, handedOver = false): void {
    if (!isPlainObject(document)) throw new Error('document must be an object');
    const doc = handedOver ? (document as Plain) : (copyData(document) as Plain);
    if (Object.keys(doc)[0] === '_id') {
      this.writable.insert(this.name, doc);
      return;
    }
    const { _id = randomUUID(), ...rest } = doc;
    this.writable.insert(this.name, { _id, ...rest });
  }

  private updateSync(filter: Filter, update: Update, upsert: boolean, many: boolean): UpdateResult {
    assertUpdateDocument(update);
    const state = this.state;
    let matched = 0;
    let modified = 0;
    if (state) {
      const targets = this.select(filter, { limit: many ? 0 : 1 });
      // Stored documents are never mutated, so an update confined to
      // top-level fields may share the untouched sub-documents of `prev`.
      const shallow = isTopLevelUpdate(update);
      for (const prev of targets) {
        matched++;
        const next = shallow ? { ...prev } : copyData(prev);
        if (!applyUpdate(next, update, false)) continue;
        if (!deepEqual(next['_id'], prev['_id'])) {
          throw new Error("Performing an update on the path '_id' would modify the immutable field '_id'");
        }
        state.replace(this.name, prev, next);
        modified++;
      }
    }
    if (matched > 0 || !upsert) return { matchedCount: matched, modifiedCount: modified, upsertedCount: 0 };
    const doc = seedFromFilter(filter);
    const seededId = doc['_id'];
    applyUpdate(doc, update, true);
    if (seededId !== undefined && !deepEqual(doc['_id'], seededId)) {
      throw new Error("Performing an update on the path '_id' would modify the immutable field '_id'");
    }
    const { _id = randomUUID(), ...rest } = doc;
    this.writable.insert(this.name, { _id, ...rest });
    return { matchedCount: 0, modifiedCount: 0, upsertedCount: 1 };
  }

  private replaceSync(filter: Filter, replacement: T, upsert: boolean): UpdateResult {
    assertReplacement(replacement);
    const state = this.state;
    if (state) {
      const [prev] = this.select(filter, { limit: 1 });
      if (prev) {
        const body = copyData(replacement) as Plain;
        if (body['_id'] !== undefined && !deepEqual(body['_id'], prev['_id'])) {
          throw new Error("the (immutable) field '_id' was found to have been altered");
        }
        delete body['_id'];
        const next: Plain = { _id: prev['_id'], ...body };
        if (deepEqual(next, prev)) return { matchedCount: 1, modifiedCount: 0, upsertedCount: 0 };
        state.replace(this.name, prev, next);
        return { matchedCount: 1, modifiedCount: 1, upsertedCount: 0 };
      }
    } else {
      compileFilter(filter);
    }
    if (!upsert) return { matchedCount: 0, modifiedCount: 0, upsertedCount: 0 };
    const body = copyData(replacement) as Plain;
    let id = body['_id'];
    if (id === undefined) {
      const seed = seedFromFilter(filter);
      id = seed['_id'] ?? randomUUID();
    }
    delete body['_id'];
    this.writable.insert(this.name, { _id: id, ...body });
    return { matchedCount: 0, modifiedCount: 0, upsertedCount: 1 };
  }

  private deleteSync(filter: Filter, many: boolean): number {
    const state = this.state;
    if (!state) {
      compileFilter(filter);
      return 0;
    }
    const victims = this.select(filter, { limit: many ? 0 : 1 });
    for (const doc of victims) state.remove(doc);
    return victims.length;
  }
}
