/**
 * Error mapping: MongoDB driver and server errors → the port's errors.
 *
 * - E11000 (code 11000) → DuplicateKeyError; FerretDB/SQLite's unique
 *   violations (InternalError "UNIQUE constraint failed") likewise. E11000
 *   messages that do not name the index (FerretDB) → UNKNOWN_INDEX.
 * - server selection / network / closed-client failures, the server's own
 *   "shutting down / not primary / host unreachable" codes, and a
 *   MongoBulkWriteError that only wraps one of these (the driver wraps every
 *   failure of a bulk write, a closed connection included) →
 *   DocumentStoreUnavailableError, never an error of the data.
 */
import {
  MongoBulkWriteError,
  MongoClientClosedError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';
import { DocumentStoreUnavailableError, DuplicateKeyError } from '../port.js';

/** DuplicateKeyError.index when the server does not say which index was violated (FerretDB). */
export const UNKNOWN_INDEX = '(unknown)';

export const DUPLICATE_KEY = 11000;
export const NAMESPACE_NOT_FOUND = 26;
export const NOT_IMPLEMENTED = 238;
export const INTERNAL_ERROR = 1;
/** The server refused the credentials (a wrong user or password). */
export const AUTHENTICATION_FAILED = 18;

/**
 * Server answers that mean "not now, try again" rather than "this operation is
 * wrong": HostUnreachable, HostNotFound, NetworkTimeout, ShutdownInProgress,
 * PrimarySteppedDown, SocketException, NotWritablePrimary,
 * InterruptedAtShutdown, InterruptedDueToReplStateChange, NotPrimaryNoSecondaryOk,
 * NotPrimaryOrSecondary.
 */
const UNAVAILABLE_CODES = new Set([6, 7, 89, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436]);

/** FerretDB's SQLite backend, busy with other writers: InternalError "database is locked (5) (SQLITE_BUSY)". Try again later. */
export function isSqliteBusy(err: unknown): boolean {
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

export function indexNameOf(err: MongoServerError): string {
  const message = typeof err.errmsg === 'string' ? err.errmsg : err.message;
  const match = /index: (\S+) dup key/.exec(message);
  return match?.[1] ?? UNKNOWN_INDEX;
}

/** FerretDB/SQLite reports some unique violations as InternalError (code 1). */
function isSqliteUniqueViolation(err: MongoServerError): boolean {
  return err.code === INTERNAL_ERROR && /UNIQUE constraint failed/.test(err.message);
}

export function isDuplicateKey(err: unknown): err is MongoServerError {
  return (
    err instanceof MongoServerError && !(err instanceof MongoBulkWriteError) && (err.code === DUPLICATE_KEY || isSqliteUniqueViolation(err))
  );
}

export function mapError(err: unknown, collection: string): unknown {
  if (isDuplicateKey(err)) return new DuplicateKeyError(collection, indexNameOf(err));
  if (isUnavailable(err)) {
    const message = err instanceof Error ? err.message : String(err);
    return new DocumentStoreUnavailableError(`MongoDB unavailable: ${message}`, { cause: err });
  }
  return err;
}
