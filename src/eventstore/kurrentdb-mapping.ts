/**
 * Mapping between KurrentDB records and the port's events (unit-tested
 * without a server):
 * - event id: our deterministic UUID is the KurrentDB event id, so the
 *   server's own idempotency check recognises a retried append;
 * - data: JSON; metadata: our EventMetadata plus `schemaVersion` (and the
 *   `$correlationId` / `$causationId` keys KurrentDB's system projections use);
 * - position: the event's $all commit position as a number;
 * - expected revisions, read positions and the $all filter in the client's terms.
 */
import {
  ANY,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  excludeSystemEvents,
  streamNameFilter,
  type AppendStreamState,
  type Filter,
  type Position,
  type ReadPosition,
} from '@kurrent/kurrentdb-client';
import type { EventMetadata, ExpectedRevision, NewEvent, RecordedEvent } from './port.js';

/** Maps the client's expected-revision state back to ours (used when the caller's expectation is unknown). */
export function fromClientStreamState(state: AppendStreamState): ExpectedRevision {
  return typeof state === 'bigint' ? Number(state) : state;
}

/** Our expectation → the client's `streamState`. */
export function toClientStreamState(expected: ExpectedRevision): AppendStreamState {
  switch (expected) {
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    case 'any':
      return ANY;
    default:
      if (!Number.isSafeInteger(expected) || expected < 0) {
        throw new RangeError(`expectedRevision must be 'no_stream', 'stream_exists', 'any' or an integer >= 0, got ${String(expected)}`);
      }
      return BigInt(expected);
  }
}

/** A commit position as our position; throws rather than lose precision. */
export function toPosition(commit: bigint): number {
  const position = Number(commit);
  if (!Number.isSafeInteger(position) || position < 0) {
    throw new RangeError(`KurrentDB position ${commit.toString()} is not a safe integer and cannot be used as a position`);
  }
  return position;
}

/**
 * Where to start reading to get the events after `after`. KurrentDB reads are
 * inclusive of their start, so callers also drop positions <= `after`.
 */
export function readPositionAfter(after: number): ReadPosition {
  return after === 0 ? START : { commit: BigInt(after), prepare: BigInt(after) };
}

/** The server-side filter for `streamPrefix` (literal prefix), or one that drops system events. */
export function allFilter(streamPrefix: string): Filter {
  return streamPrefix === '' ? excludeSystemEvents() : streamNameFilter({ prefixes: [streamPrefix] });
}

export function isSystemEvent(event: { streamId: string; type: string }): boolean {
  return event.streamId.startsWith('$') || event.type.startsWith('$');
}

/** The metadata object stored with each event. */
export function encodeMetadata(event: Pick<NewEvent, 'schemaVersion' | 'metadata'>): Record<string, unknown> {
  const { metadata } = event;
  return {
    ...metadata,
    schemaVersion: event.schemaVersion,
    // KurrentDB's $by_correlation_id projection and its UI read these keys.
    $correlationId: metadata.correlationId,
    ...(metadata.causationId === undefined ? {} : { $causationId: metadata.causationId }),
  };
}

export function decodeMetadata(raw: unknown, where: string): { schemaVersion: number; metadata: EventMetadata } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || raw instanceof Uint8Array) {
    throw new Error(`${where}: metadata is not a JSON object; this event was not written by tenantry`);
  }
  const { schemaVersion, $correlationId: _correlation, $causationId: _causation, ...metadata } = raw as Record<string, unknown>;
  if (typeof schemaVersion !== 'number' || !Number.isSafeInteger(schemaVersion)) {
    throw new Error(`${where}: metadata has no integer schemaVersion; this event was not written by tenantry`);
  }
  return { schemaVersion, metadata: metadata as unknown as EventMetadata };
}

/** The fields of the client's RecordedEvent that we use. */
export interface KurrentRecordedEvent {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  isJson: boolean;
  data: unknown;
  metadata: unknown;
  position?: Position | undefined;
}

export function toRecordedEvent(event: KurrentRecordedEvent): RecordedEvent {
  const where = `event ${event.id} (${event.streamId}@${event.revision.toString()})`;
  if (!event.isJson) throw new Error(`${where}: not a JSON event; this event was not written by tenantry`);
  if (event.position === undefined) {
    throw new Error(`${where}: the server returned no position (KurrentDB/EventStoreDB >= 22.6 is required)`);
  }
  const { schemaVersion, metadata } = decodeMetadata(event.metadata, where);
  return {
    id: event.id,
    type: event.type,
    schemaVersion,
    data: event.data,
    metadata,
    streamName: event.streamId,
    streamRevision: Number(event.revision),
    position: toPosition(event.position.commit),
  };
}
