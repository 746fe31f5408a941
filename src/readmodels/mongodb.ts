/**
 * The production DocumentStore adapter: a thin layer over the official
 * MongoDB driver. The port mirrors the driver's shapes, so the adapter mostly
 * maps errors.
 *
 * Also runs against FerretDB 1.24 (SQLite backend, used in CI), working
 * around its gaps; and uses multi-document transactions where the server
 * offers them (replica sets, sharded clusters).
 *
 * The code lives in ./mongodb/: errors (MongoDB errors → the port's),
 * quirks (FerretDB's gaps and what the adapter does about them), server (the
 * server's `hello` and whether it offers transactions), transactions (the
 * mode, the errors, the AsyncLocalStorage transaction scope), health (the
 * operation timeout and the circuit breaker), collection (the port's
 * operations on a driver collection) and store.
 */
export { UNKNOWN_INDEX, isUnavailable } from './mongodb/errors.js';
export { flattenAnd } from './mongodb/quirks.js';
export { detectTransactionSupport, type MongoServerInfo, type TransactionSupport } from './mongodb/server.js';
export { MongoTransactionsUnsupportedError, TransactionAbortedError, type TransactionMode } from './mongodb/transactions.js';
export { MongoOperationTimeoutError } from './mongodb/health.js';
export { MongoDocumentStore, type MongoDocumentStoreOptions } from './mongodb/store.js';
