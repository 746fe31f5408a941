/**
 * The embedded DocumentStore adapter: MongoDB filter, update and sort
 * semantics in process memory.
 *
 * - Filters are evaluated by mingo, except for a small fast path (top-level
 *   fields compared with scalars) that is semantically identical and avoids
 *   compiling a mingo query for every write of a projection.
 * - Updates are applied by `mingo/updater`, except for a fast path for
 *   `$set`/`$unset`/`$inc`/`$setOnInsert` on top-level fields.
 * - Stored documents are private deep copies that are never mutated in place:
 *   a write builds a new document and swaps it in. Every document handed out is
 *   a fresh deep copy, so callers can never alter stored state.
 * - `_id` lookups (`{_id: x}`, `{_id: {$eq: x}}`, `{_id: {$in: [...]}}`, also
 *   inside a top-level `$and`) use a Map instead of a scan; unique indexes are
 *   maintained as Maps from encoded key to `_id`.
 * - Every declared index is also an ordered index (a B+ tree in BSON order,
 *   multikey like MongoDB's). A planner answers equalities, `$in` lists and a
 *   range from the best one, walking it in sort order when it can and
 *   stopping after `skip + limit` matches; the whole filter is still applied
 *   to every candidate. `store.stats()` counts the documents and keys
 *   examined, `store.explain()` shows the plan.
 *
 * The code lives in ./memory/: values, sort, filters, updates, indexes,
 * planner, execute (running plans), state (a collection's documents and
 * indexes), collection (the port's operations) and store.
 *
 * Everything is synchronous under the hood, so every operation is atomic with
 * respect to every other operation on the store.
 */
export { MemoryDocumentStore } from './memory/store.js';
