/**
 * The durable embedded DocumentStore adapter: collections in one SQLite file
 * (better-sqlite3), the embedded default for read models.
 *
 * - Each collection is a table of JSON documents keyed by `_id`, named by
 *   number in a catalog, so renames (blue/green switches) are atomic
 *   catalog updates.
 * - Filters, updates and sorts keep MongoDB semantics by reusing the memory
 *   store's evaluators (mingo, with fast paths) on candidate documents;
 *   SQL only selects candidates, through tables of index entries whose keys
 *   are strings in BSON order (see ./sqlite/keys.ts). Translating the whole
 *   filter language to SQL over JSON would have been a second dialect to
 *   keep identical to mingo; Pongo targets PostgreSQL semantics and its own
 *   filter subset. Here the evaluator is the one both other adapters are
 *   measured against, and the indexes only decide which rows are read.
 * - Unique indexes keep the memory store's encoded keys (partial filters and
 *   missing-as-null included).
 * - `withTransaction` is a real SQLite transaction; every single operation
 *   (and every bulkWrite) is one too. Several processes may share the file
 *   (WAL mode): writers take the file's write lock in turn.
 *
 * The code lives in ./sqlite/: keys (index keys), catalog (collections and
 * indexes), planner, table (reads and writes of one collection), collection
 * (the port's operations) and store (connections, transactions).
 */
export { SqliteDocumentStore } from './sqlite/store.js';
