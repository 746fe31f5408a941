/**
 * The argument checks and the expected-revision rule every EventStore
 * adapter applies the same way (memory, SQLite, KurrentDB), so that they
 * refuse the same input with the same errors.
 */
import { WrongExpectedRevisionError, type ExpectedRevision, type NewEvent, type ReadAllOptions, type ReadStreamOptions } from './port.js';

const DEFAULT_READ_ALL_MAX = 1000;

/** Throws WrongExpectedRevisionError unless `actual` (-1: no stream) satisfies `expected`. */
export function checkExpectedRevision(stream: string, expected: ExpectedRevision, actual: number): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && actual === -1) ||
    (expected === 'stream_exists' && actual >= 0) ||
    expected === actual;
  if (!ok) throw new WrongExpectedRevisionError(stream, expected, actual);
}

/** Rejects malformed arguments before anything is written; these are programming errors, not conflicts. */
export function validateAppend(stream: string, events: readonly NewEvent[], expected: ExpectedRevision): void {
  if (typeof stream !== 'string' || stream.length === 0) throw new TypeError('stream name must be a non-empty string');
  if (typeof expected === 'number' && !(Number.isSafeInteger(expected) && expected >= 0)) {
    throw new RangeError(`expectedRevision must be 'no_stream', 'stream_exists', 'any' or an integer >= 0, got ${expected}`);
  }
  if (typeof expected === 'string' && !['no_stream', 'stream_exists', 'any'].includes(expected)) {
    throw new RangeError(`unknown expectedRevision ${JSON.stringify(expected)}`);
  }
  const ids = new Set<string>();
  for (const event of events) {
    if (typeof event.id !== 'string' || event.id.length === 0) throw new TypeError(`event in ${stream} has no id`);
    if (ids.has(event.id)) throw new Error(`event id ${event.id} appears twice in one append to ${stream}`);
    ids.add(event.id);
    if (typeof event.type !== 'string' || event.type.length === 0) throw new TypeError(`event ${event.id} has no type`);
    if (!Number.isSafeInteger(event.schemaVersion)) throw new TypeError(`event ${event.id} has an invalid schemaVersion`);
  }
}

export function validateReadAll(options: ReadAllOptions): { after: number; maxCount: number; streamPrefix: string } {
  const after = options.after ?? 0;
  const maxCount = options.maxCount ?? DEFAULT_READ_ALL_MAX;
  if (!Number.isSafeInteger(after) || after < 0) throw new RangeError(`after must be an integer >= 0, got ${after}`);
  if (!Number.isSafeInteger(maxCount) || maxCount < 0) throw new RangeError(`maxCount must be an integer >= 0, got ${maxCount}`);
  return { after, maxCount, streamPrefix: options.streamPrefix ?? '' };
}

export function validateReadStream(options: ReadStreamOptions): { fromRevision: number; maxCount: number } {
  const fromRevision = options.fromRevision ?? 0;
  const maxCount = options.maxCount ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(fromRevision) || fromRevision < 0) {
    throw new RangeError(`fromRevision must be an integer >= 0, got ${fromRevision}`);
  }
  if (!Number.isSafeInteger(maxCount) || maxCount < 0) throw new RangeError(`maxCount must be an integer >= 0, got ${maxCount}`);
  return { fromRevision, maxCount };
}
