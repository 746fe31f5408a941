/**
 * FerretDB's gaps, and what the adapter does about them.
 *
 * The adapter also runs against FerretDB 1.24 (SQLite backend, used in CI).
 * Its gaps and what this adapter does about them (only when the server is
 * FerretDB, except where noted):
 * - `renameCollection` with `dropTarget`: NotImplemented → emulated by
 *   drop-then-rename, NOT atomic (see MongoDocumentStore.renameCollection).
 * - unique indexes with `partialFilterExpression`: NotImplemented → createIndexes
 *   rejects with an error naming the option.
 * - a unique violation by an update of an existing document (and by
 *   createIndexes over duplicate data) comes back as InternalError (code 1,
 *   "UNIQUE constraint failed") instead of E11000 → mapped to DuplicateKeyError
 *   (./errors.ts). E11000 messages never name the index →
 *   DuplicateKeyError.index is UNKNOWN_INDEX.
 * - the `update` command with several statements stops at the first error,
 *   always reports it at index 0 and loses the counts → bulkWrite batches that
 *   contain updates or replacements are executed one operation at a time
 *   (bulkWriteSequentially).
 * - upserts do not copy equality fields out of a top-level `$and` into the new
 *   document → `$and` branches with disjoint fields are merged into the filter
 *   first (flattenAnd, semantically identical).
 * - createIndexes with several indexes that all exist already drops the
 *   connection (server panic) → existing indexes are filtered out first (done
 *   on every server: it is semantically identical and cheap).
 * - unique indexes treat a missing field as distinct from every other missing
 *   field (MongoDB treats it as null, so two documents without the field
 *   collide). Not emulated; the contract declares it.
 * - no transactions at all (./transactions.ts).
 */
import {
  DocumentStoreUnavailableError,
  DuplicateKeyError,
  type BulkWriteResult,
  type Collection,
  type Document,
  type Filter,
  type UpdateResult,
  type WriteOperation,
} from '../port.js';

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

/** bulkWrite one operation at a time (FerretDB, see the file comment). */
export async function bulkWriteSequentially<T extends Document>(
  collection: Collection<T>,
  operations: readonly WriteOperation<T>[],
  ordered: boolean,
): Promise<BulkWriteResult> {
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
        await collection.insertOne(op.insertOne.document);
        result.insertedCount++;
      } else if ('deleteOne' in op) {
        result.deletedCount += await collection.deleteOne(op.deleteOne.filter);
      } else if ('deleteMany' in op) {
        result.deletedCount += await collection.deleteMany(op.deleteMany.filter);
      } else {
        let r: UpdateResult;
        if ('updateOne' in op) {
          r = await collection.updateOne(op.updateOne.filter, op.updateOne.update, { upsert: op.updateOne.upsert ?? false });
        } else if ('updateMany' in op) {
          r = await collection.updateMany(op.updateMany.filter, op.updateMany.update);
        } else if ('replaceOne' in op) {
          r = await collection.replaceOne(op.replaceOne.filter, op.replaceOne.replacement, { upsert: op.replaceOne.upsert ?? false });
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
