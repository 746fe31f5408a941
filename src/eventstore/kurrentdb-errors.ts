/**
 * Error mapping of the KurrentDB EventStore: errors thrown by
 * @kurrent/kurrentdb-client → the port's errors (unit-tested without a
 * server).
 */
import {
  ANY,
  AccessDeniedError,
  CancelledError,
  DeadlineExceededError,
  NotLeaderError,
  StreamDeletedError,
  StreamNotFoundError,
  TimeoutError,
  UnavailableError,
  WrongExpectedVersionError,
} from '@kurrent/kurrentdb-client';
import { EventStoreUnavailableError, WrongExpectedRevisionError, type ExpectedRevision } from './port.js';
import { fromClientStreamState } from './kurrentdb-mapping.js';

export interface KurrentErrorContext {
  /** What we were doing, for the message: 'append', 'readStream', 'readAll', 'subscribe', ... */
  operation: string;
  stream?: string | undefined;
  expectedRevision?: ExpectedRevision | undefined;
}

/** gRPC status codes that mean "the server could not be reached or did not answer in time". */
const GRPC_UNAVAILABLE_CODES = new Set([
  1, // CANCELLED (by the server, e.g. on shutdown; client-side cancellations never reach us)
  4, // DEADLINE_EXCEEDED
  14, // UNAVAILABLE
]);
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);
const TRANSIENT_ERROR_TYPES = new Set(['unavailable', 'deadline-exceeded', 'timeout', 'not-leader', 'cancelled']);

function property(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function describe(context: KurrentErrorContext): string {
  return context.stream === undefined ? context.operation : `${context.operation} ${context.stream}`;
}

/**
 * Turns an error thrown by @kurrent/kurrentdb-client into the port's errors:
 * WrongExpectedVersionError → WrongExpectedRevisionError (actual -1 when the
 * stream does not exist); unreachable / timed out / not leader →
 * EventStoreUnavailableError. Anything else is returned as an Error with the
 * operation in its message and the original as `cause`.
 */
export function mapKurrentError(err: unknown, context: KurrentErrorContext): Error {
  if (err instanceof WrongExpectedRevisionError || err instanceof EventStoreUnavailableError) return err;

  const type = property(err, 'type');
  if (err instanceof WrongExpectedVersionError || type === 'wrong-expected-version') {
    const e = err as WrongExpectedVersionError;
    const actual = typeof e.actualState === 'bigint' && e.actualState >= 0n ? Number(e.actualState) : -1;
    const expected = context.expectedRevision ?? fromClientStreamState(e.expectedState ?? ANY);
    return new WrongExpectedRevisionError(context.stream ?? e.streamName, expected, actual);
  }

  const message = err instanceof Error ? err.message : String(err);
  const code = property(err, 'code');
  const transient =
    err instanceof UnavailableError ||
    err instanceof DeadlineExceededError ||
    err instanceof TimeoutError ||
    err instanceof NotLeaderError ||
    err instanceof CancelledError ||
    (typeof type === 'string' && TRANSIENT_ERROR_TYPES.has(type)) ||
    (typeof code === 'number' && GRPC_UNAVAILABLE_CODES.has(code)) ||
    (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) ||
    /failed to discover|no connection established|ECONNREFUSED/i.test(message);
  if (transient) {
    const kind = typeof type === 'string' ? type : typeof code === 'number' ? `grpc status ${code}` : 'connection error';
    // The native bridge's errors carry only their class name as message.
    const detail = message === '' || /^[A-Za-z]+Error$/.test(message) ? 'the server is unreachable or did not answer in time' : message;
    return new EventStoreUnavailableError(`KurrentDB unavailable during ${describe(context)} (${kind}): ${detail}`, { cause: err });
  }

  if (err instanceof AccessDeniedError || type === 'access-denied') {
    return new Error(`KurrentDB denied access during ${describe(context)}: check the credentials in the connection string`, {
      cause: err,
    });
  }
  if (err instanceof StreamDeletedError || type === 'stream-deleted' || type === 'stream-tombstoned') {
    const stream = context.stream ?? property(err, 'streamName');
    return new Error(`KurrentDB stream ${typeof stream === 'string' ? stream : '(unknown)'} is deleted (${describe(context)})`, {
      cause: err,
    });
  }
  if (err instanceof Error) return err;
  return new Error(`KurrentDB ${describe(context)} failed: ${message}`, { cause: err });
}

export function isStreamNotFound(err: unknown): boolean {
  return err instanceof StreamNotFoundError || property(err, 'type') === 'stream-not-found';
}
