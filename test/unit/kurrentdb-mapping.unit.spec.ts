/**
 * The KurrentDB adapter's pure mappings, tested with the client's real error
 * classes and constants. Nothing here talks to a KurrentDB server; the one
 * test that uses the real client points it at a closed local port.
 */
import {
  ANY,
  AccessDeniedError,
  CancelledError,
  DeadlineExceededError,
  EVENT_TYPE,
  NO_STREAM,
  NotLeaderError,
  START,
  STREAM_EXISTS,
  STREAM_NAME,
  StreamDeletedError,
  StreamNotFoundError,
  TimeoutError,
  UnavailableError,
  UnknownError,
  WrongExpectedVersionError,
} from '@kurrent/kurrentdb-client';
import { describe, expect, it } from 'vitest';
import {
  KurrentDbEventStore,
  allFilter,
  decodeMetadata,
  encodeMetadata,
  fromClientStreamState,
  isStreamNotFound,
  isSystemEvent,
  mapKurrentError,
  readPositionAfter,
  toClientStreamState,
  toPosition,
  toRecordedEvent,
  type KurrentRecordedEvent,
} from '../../src/eventstore/kurrentdb.js';
import { EventStoreUnavailableError, WrongExpectedRevisionError, type EventMetadata } from '../../src/eventstore/port.js';

type ServiceErrorLike = ConstructorParameters<typeof NotLeaderError>[0];

const metadata: EventMetadata = {
  tenantId: 'acme',
  namespace: 'company.team',
  actor: { type: 'USER', id: 'u-1' },
  correlationId: 'corr-1',
  causationId: 'cause-1',
  commandId: 'cmd-1',
  occurredAt: '2024-05-01T12:00:00.000Z',
  ip: '10.0.0.1',
  userAgent: 'test',
};

describe('mapKurrentError (no server)', () => {
  it('maps WrongExpectedVersionError to WrongExpectedRevisionError with the actual revision', () => {
    const error = new WrongExpectedVersionError(undefined, { streamName: 'acme/flow/1', expected: 2n, current: 5n });
    const mapped = mapKurrentError(error, { operation: 'append to', stream: 'acme/flow/1', expectedRevision: 2 });
    expect(mapped).toBeInstanceOf(WrongExpectedRevisionError);
    expect(mapped).toMatchObject({ stream: 'acme/flow/1', expected: 2, actual: 5 });
  });

  it('maps a missing stream (current: no_stream) to actual -1', () => {
    const error = new WrongExpectedVersionError(undefined, { streamName: 's', expected: STREAM_EXISTS, current: NO_STREAM });
    expect(mapKurrentError(error, { operation: 'append to', stream: 's', expectedRevision: 'stream_exists' })).toMatchObject({
      name: 'WrongExpectedRevisionError',
      stream: 's',
      expected: 'stream_exists',
      actual: -1,
    });
  });

  it('maps the v2 revision-conflict form (actual "-1" = no stream)', () => {
    const conflict = WrongExpectedVersionError.fromRevisionConflict({ stream: 's', expectedRevision: '3', actualRevision: '-1' });
    expect(mapKurrentError(conflict, { operation: 'append to', stream: 's', expectedRevision: 3 })).toMatchObject({
      actual: -1,
      expected: 3,
    });
    const existing = WrongExpectedVersionError.fromRevisionConflict({ stream: 's', expectedRevision: '-1', actualRevision: '7' });
    expect(mapKurrentError(existing, { operation: 'append to' })).toMatchObject({ stream: 's', expected: 'no_stream', actual: 7 });
  });

  it("falls back to the error's own stream and expectation when the context lacks them", () => {
    const error = new WrongExpectedVersionError(undefined, { streamName: 'acme/x/1', expected: 4n, current: 6n });
    const mapped = mapKurrentError(error, { operation: 'append to' });
    expect(mapped).toMatchObject({ stream: 'acme/x/1', expected: 4, actual: 6 });
    expect(mapped.message).toContain('acme/x/1');
  });

  it.each([
    ['UnavailableError', () => new UnavailableError()],
    ['DeadlineExceededError', () => new DeadlineExceededError()],
    ['TimeoutError', () => new TimeoutError()],
    ['CancelledError (server side)', () => new CancelledError()],
    [
      'NotLeaderError',
      () =>
        new NotLeaderError({
          metadata: { 'leader-endpoint-host': 'node-2', 'leader-endpoint-port': '2113' },
        } as unknown as ServiceErrorLike),
    ],
    ['raw gRPC UNAVAILABLE (code 14)', () => Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 })],
    ['raw gRPC DEADLINE_EXCEEDED (code 4)', () => Object.assign(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded'), { code: 4 })],
    ['discovery failure', () => new Error('Failed to discover after 10 attempts.')],
    ['socket error', () => Object.assign(new Error('connect ECONNREFUSED 10.0.0.9:2113'), { code: 'ECONNREFUSED' })],
  ])('maps %s to EventStoreUnavailableError with a clear message', (_name, make) => {
    const error = make();
    const mapped = mapKurrentError(error, { operation: 'read', stream: 'acme/flow/1' });
    expect(mapped).toBeInstanceOf(EventStoreUnavailableError);
    expect(mapped.message).toMatch(/^KurrentDB unavailable during read acme\/flow\/1 \(.+\): .+/);
    expect(mapped.message).not.toMatch(/: [A-Za-z]+Error$/);
    expect(mapped.cause).toBe(error);
  });

  it('explains access denied without calling it unavailable', () => {
    const mapped = mapKurrentError(new AccessDeniedError(), { operation: 'read $all' });
    expect(mapped).not.toBeInstanceOf(EventStoreUnavailableError);
    expect(mapped.message).toMatch(/denied access during read \$all/);
  });

  it('names a deleted stream', () => {
    const mapped = mapKurrentError(StreamDeletedError.fromStreamName('acme/x/1'), { operation: 'append to', stream: 'acme/x/1' });
    expect(mapped.message).toContain('acme/x/1 is deleted');
  });

  it('passes other errors through and wraps non-errors', () => {
    const unknown = new UnknownError();
    expect(mapKurrentError(unknown, { operation: 'read' })).toBe(unknown);
    const plain = new TypeError('bad');
    expect(mapKurrentError(plain, { operation: 'read' })).toBe(plain);
    const wrapped = mapKurrentError('boom', { operation: 'read', stream: 's' });
    expect(wrapped).toBeInstanceOf(Error);
    expect(wrapped.message).toBe('KurrentDB read s failed: boom');
  });

  it('returns errors that are already ours unchanged', () => {
    const conflict = new WrongExpectedRevisionError('s', 0, 1);
    const unavailable = new EventStoreUnavailableError('down');
    expect(mapKurrentError(conflict, { operation: 'x' })).toBe(conflict);
    expect(mapKurrentError(unavailable, { operation: 'x' })).toBe(unavailable);
  });

  it('recognises StreamNotFoundError (read of a missing stream returns [])', () => {
    expect(isStreamNotFound(new StreamNotFoundError(undefined, 'acme/x/1'))).toBe(true);
    expect(isStreamNotFound(new UnavailableError())).toBe(false);
    expect(isStreamNotFound(new Error('not found'))).toBe(false);
  });
});

describe('expected revision and position mapping (no server)', () => {
  it("maps our expectations to the client's stream states", () => {
    expect(toClientStreamState('no_stream')).toBe(NO_STREAM);
    expect(toClientStreamState('stream_exists')).toBe(STREAM_EXISTS);
    expect(toClientStreamState('any')).toBe(ANY);
    expect(toClientStreamState(0)).toBe(0n);
    expect(toClientStreamState(41)).toBe(41n);
    expect(toClientStreamState(Number.MAX_SAFE_INTEGER)).toBe(BigInt(Number.MAX_SAFE_INTEGER));
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects the invalid expected revision %s', (value) => {
    expect(() => toClientStreamState(value)).toThrow(RangeError);
  });

  it("maps the client's stream states back", () => {
    expect(fromClientStreamState(NO_STREAM)).toBe('no_stream');
    expect(fromClientStreamState(STREAM_EXISTS)).toBe('stream_exists');
    expect(fromClientStreamState(ANY)).toBe('any');
    expect(fromClientStreamState(12n)).toBe(12);
  });

  it('converts commit positions to numbers, refusing unsafe ones', () => {
    expect(toPosition(0n)).toBe(0);
    expect(toPosition(123_456n)).toBe(123_456);
    expect(toPosition(BigInt(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => toPosition(BigInt(Number.MAX_SAFE_INTEGER) + 1n)).toThrow(/not a safe integer/);
    expect(() => toPosition(2n ** 64n - 1n)).toThrow(RangeError);
  });

  it('reads "after P" from {commit: P, prepare: P}, and "after 0" from the start', () => {
    expect(readPositionAfter(0)).toBe(START);
    expect(readPositionAfter(4242)).toEqual({ commit: 4242n, prepare: 4242n });
  });

  it('filters on a literal stream-name prefix, or excludes system event types', () => {
    expect(allFilter('acme/')).toMatchObject({ filterOn: STREAM_NAME, prefixes: ['acme/'] });
    expect(allFilter('')).toMatchObject({ filterOn: EVENT_TYPE, regex: '^[^$].*' });
  });

  it('treats $-prefixed streams and event types as system events', () => {
    expect(isSystemEvent({ streamId: '$stats-127.0.0.1:2113', type: 'StatsCollected' })).toBe(true);
    expect(isSystemEvent({ streamId: 'acme/x/1', type: '$metadata' })).toBe(true);
    expect(isSystemEvent({ streamId: 'acme/x/1', type: 'FlowCreated' })).toBe(false);
  });
});

describe('event encoding (no server)', () => {
  it('stores schemaVersion and our metadata (plus $correlationId/$causationId) and reads them back exactly', () => {
    const encoded = encodeMetadata({ schemaVersion: 3, metadata });
    expect(encoded).toMatchObject({ schemaVersion: 3, $correlationId: 'corr-1', $causationId: 'cause-1', tenantId: 'acme' });
    const decoded = decodeMetadata(JSON.parse(JSON.stringify(encoded)), 'test');
    expect(decoded).toStrictEqual({ schemaVersion: 3, metadata });
  });

  it('omits $causationId when there is no causation', () => {
    const { causationId: _dropped, ...withoutCausation } = metadata;
    expect(encodeMetadata({ schemaVersion: 1, metadata: withoutCausation })).not.toHaveProperty('$causationId');
  });

  it('rejects metadata not written by tenantry', () => {
    expect(() => decodeMetadata(undefined, 'e1')).toThrow(/e1: metadata is not a JSON object/);
    expect(() => decodeMetadata(new Uint8Array([1]), 'e1')).toThrow(/not a JSON object/);
    expect(() => decodeMetadata({ tenantId: 'acme' }, 'e1')).toThrow(/no integer schemaVersion/);
  });

  function clientEvent(overrides: Partial<KurrentRecordedEvent> = {}): KurrentRecordedEvent {
    return {
      streamId: 'acme/flow/1',
      id: '0b7f5f3e-2f5c-4a3e-9a2e-1c2d3e4f5a6b',
      revision: 4n,
      type: 'FlowCreated',
      isJson: true,
      data: { name: 'ü 😀', nested: [1, { a: null }] },
      metadata: encodeMetadata({ schemaVersion: 2, metadata }),
      position: { commit: 9001n, prepare: 9001n },
      ...overrides,
    };
  }

  it("turns the client's recorded event into ours", () => {
    expect(toRecordedEvent(clientEvent())).toStrictEqual({
      id: '0b7f5f3e-2f5c-4a3e-9a2e-1c2d3e4f5a6b',
      type: 'FlowCreated',
      schemaVersion: 2,
      data: { name: 'ü 😀', nested: [1, { a: null }] },
      metadata,
      streamName: 'acme/flow/1',
      streamRevision: 4,
      position: 9001,
    });
  });

  it('refuses events it cannot represent', () => {
    expect(() => toRecordedEvent(clientEvent({ isJson: false }))).toThrow(/not a JSON event/);
    expect(() => toRecordedEvent(clientEvent({ position: undefined }))).toThrow(/no position/);
    expect(() => toRecordedEvent(clientEvent({ position: { commit: 2n ** 60n, prepare: 0n } }))).toThrow(/not a safe integer/);
  });
});

describe('KurrentDbEventStore with the real client and nothing listening (no server)', () => {
  it('reports EventStoreUnavailableError for every operation, then closes cleanly', async () => {
    const store = new KurrentDbEventStore('kurrentdb://127.0.0.1:1?tls=false&maxDiscoverAttempts=1&defaultDeadline=2000');
    const event = {
      id: '0b7f5f3e-2f5c-4a3e-9a2e-1c2d3e4f5a6b',
      type: 'FlowCreated',
      schemaVersion: 1,
      data: {},
      metadata,
    };
    await expect(store.ping()).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(store.appendToStream('acme/x/1', [event], { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(
      EventStoreUnavailableError,
    );
    await expect(store.readStream('acme/x/1')).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(store.readAll({ streamPrefix: 'acme/' })).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(store.headPosition()).rejects.toBeInstanceOf(EventStoreUnavailableError);

    const subscription = store.subscribeToAll({ after: 0, streamPrefix: 'acme/' });
    const iterate = async () => {
      for await (const _batch of subscription) {
        // nothing arrives
      }
    };
    await expect(iterate()).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await store.close();
    await expect(store.ping()).rejects.toThrow(/closed/);
  });

  it('rejects event ids that are not UUIDs before sending anything', async () => {
    const store = new KurrentDbEventStore('kurrentdb://127.0.0.1:1?tls=false&maxDiscoverAttempts=1');
    try {
      await expect(
        store.appendToStream('acme/x/1', [{ id: 'not-a-uuid', type: 'T', schemaVersion: 1, data: {}, metadata }], {
          expectedRevision: 'any',
        }),
      ).rejects.toThrow(/not a UUID/);
    } finally {
      await store.close();
    }
  });
});
