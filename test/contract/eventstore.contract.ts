/**
 * The one EventStore contract: every adapter (memory, sqlite, kurrentdb)
 * runs these tests through describeEventStoreContract.
 *
 * The tests never assume an empty store: every test uses its own random
 * tenant, and reads "after the head position when the test started", so
 * they can run against a long-lived shared KurrentDB server. They do assume
 * nobody else writes to that server while a test runs (headPosition checks).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
  streamName,
  type EventMetadata,
  type EventStore,
  type EventSubscription,
  type ExpectedRevision,
  type NewEvent,
  type RecordedEvent,
} from '../../src/eventstore/port.js';

export interface EventStoreContractOptions {
  /**
   * The adapter rejects an event id that is already stored in any stream
   * (memory, sqlite). KurrentDB only recognises ids within one stream, so
   * for it the suite only checks that such an event is never silently dropped.
   * Default true.
   */
  uniqueEventIds?: boolean;
}

type Factory = () => Promise<{ store: EventStore; cleanup: () => Promise<void> }>;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Settles a promise into a value, so a test can inspect a rejection without try/catch. */
async function outcome<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

async function expectConflict(promise: Promise<unknown>, stream: string, expected: ExpectedRevision, actual: number): Promise<void> {
  const result = await outcome(promise);
  expect(result.ok, 'append should have failed with WrongExpectedRevisionError').toBe(false);
  if (result.ok) return;
  expect(result.error).toBeInstanceOf(WrongExpectedRevisionError);
  expect(result.error).toMatchObject({ name: 'WrongExpectedRevisionError', stream, expected, actual });
}

function expectStrictlyIncreasing(positions: number[]): void {
  for (let i = 1; i < positions.length; i++) {
    expect(positions[i], `position #${i} must exceed #${i - 1}`).toBeGreaterThan(positions[i - 1] ?? Infinity);
  }
}

/** Iterates a subscription in the background, collecting what it delivers. */
function collect(subscription: EventSubscription) {
  const events: RecordedEvent[] = [];
  const batchSizes: number[] = [];
  let failure: unknown;
  const done = (async () => {
    try {
      for await (const batch of subscription) {
        batchSizes.push(batch.length);
        events.push(...batch);
      }
    } catch (error) {
      failure = error;
    }
  })();
  return {
    events,
    batchSizes,
    done,
    async waitFor(count: number, timeout = 10_000): Promise<void> {
      await vi.waitFor(
        () => {
          if (failure !== undefined) throw new Error('subscription failed', { cause: failure });
          expect(events.length).toBeGreaterThanOrEqual(count);
        },
        { timeout, interval: 10 },
      );
    },
    get failure(): unknown {
      return failure;
    },
  };
}

/** Resolves when `promise` settles, or fails the test after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function describeEventStoreContract(adapterName: string, factory: Factory, options: EventStoreContractOptions = {}): void {
  const uniqueEventIds = options.uniqueEventIds ?? true;

  describe(`EventStore contract: ${adapterName}`, () => {
    let store: EventStore;
    let cleanup: () => Promise<void>;
    let tenant: string;
    let headAtStart: number;

    beforeEach(async () => {
      ({ store, cleanup } = await factory());
      tenant = `c${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      headAtStart = await store.headPosition();
    });

    afterEach(async () => {
      await cleanup();
    });

    function metadata(overrides: Partial<EventMetadata> = {}): EventMetadata {
      const commandId = randomUUID();
      return {
        tenantId: tenant,
        actor: { type: 'USER', id: 'user-1' },
        correlationId: commandId,
        commandId,
        occurredAt: '2024-05-01T12:00:00.000Z',
        ...overrides,
      };
    }

    function event(data: unknown = { n: 1 }, overrides: Partial<NewEvent> = {}): NewEvent {
      return { id: randomUUID(), type: 'ThingHappened', schemaVersion: 1, data, metadata: metadata(), ...overrides };
    }

    function events(count: number): NewEvent[] {
      return Array.from({ length: count }, (_, n) => event({ n }));
    }

    function stream(category = 'thing', id: string = randomUUID().slice(0, 8)): string {
      return streamName(tenant, category, id);
    }

    /** Our tenant's events appended since the test started, in global order. */
    async function ours(prefix = `${tenant}/`): Promise<RecordedEvent[]> {
      return store.readAll({ after: headAtStart, streamPrefix: prefix, maxCount: 10_000 });
    }

    describe('appendToStream', () => {
      it("appends to a new stream with 'no_stream': revisions from 0, positions >= 1 and increasing", async () => {
        const s = stream();
        const appended = events(3);
        const result = await store.appendToStream(s, appended, { expectedRevision: 'no_stream' });

        const read = await store.readStream(s);
        expect(read.map((e) => e.id)).toEqual(appended.map((e) => e.id));
        expect(read.map((e) => e.streamRevision)).toEqual([0, 1, 2]);
        expect(read.every((e) => e.streamName === s)).toBe(true);
        expect(read[0]?.position).toBeGreaterThanOrEqual(1);
        expect(read[0]?.position).toBeGreaterThan(headAtStart);
        expectStrictlyIncreasing(read.map((e) => e.position));
        expect(result).toEqual({ nextExpectedRevision: 2, position: read.at(-1)?.position });
      });

      it("fails with 'no_stream' on an existing stream, carrying the actual revision", async () => {
        const s = stream();
        await store.appendToStream(s, events(2), { expectedRevision: 'no_stream' });
        await expectConflict(store.appendToStream(s, [event()], { expectedRevision: 'no_stream' }), s, 'no_stream', 1);
        expect(await store.readStream(s)).toHaveLength(2);
      });

      it('appends at the exact revision, and a stale revision fails without writing anything', async () => {
        const s = stream();
        await store.appendToStream(s, [event()], { expectedRevision: 'no_stream' });
        const second = await store.appendToStream(s, [event()], { expectedRevision: 0 });
        expect(second.nextExpectedRevision).toBe(1);

        const before = await store.readStream(s);
        const head = await store.headPosition();
        await expectConflict(store.appendToStream(s, events(2), { expectedRevision: 0 }), s, 0, 1);
        await expectConflict(store.appendToStream(s, [event()], { expectedRevision: 5 }), s, 5, 1);

        expect(await store.readStream(s)).toEqual(before);
        expect(await store.headPosition()).toBe(head);
        expect(await ours()).toHaveLength(2);
      });

      it("'stream_exists' fails on a missing stream (actual -1) and succeeds on an existing one", async () => {
        const s = stream();
        await expectConflict(store.appendToStream(s, [event()], { expectedRevision: 'stream_exists' }), s, 'stream_exists', -1);
        expect(await store.readStream(s)).toEqual([]);

        await store.appendToStream(s, [event()], { expectedRevision: 'no_stream' });
        const result = await store.appendToStream(s, [event()], { expectedRevision: 'stream_exists' });
        expect(result.nextExpectedRevision).toBe(1);
      });

      it("'any' appends to a missing and to an existing stream", async () => {
        const s = stream();
        expect((await store.appendToStream(s, [event()], { expectedRevision: 'any' })).nextExpectedRevision).toBe(0);
        expect((await store.appendToStream(s, events(2), { expectedRevision: 'any' })).nextExpectedRevision).toBe(2);
        expect((await store.readStream(s)).map((e) => e.streamRevision)).toEqual([0, 1, 2]);
      });

      it('a numeric expectation on a missing stream fails with actual -1', async () => {
        const s = stream();
        await expectConflict(store.appendToStream(s, [event()], { expectedRevision: 0 }), s, 0, -1);
      });

      it('appends several events atomically: consecutive revisions, one result for the last event', async () => {
        const s = stream();
        await store.appendToStream(s, [event()], { expectedRevision: 'no_stream' });
        const batch = events(4);
        const result = await store.appendToStream(s, batch, { expectedRevision: 0 });
        const read = await store.readStream(s, { fromRevision: 1 });
        expect(read.map((e) => e.id)).toEqual(batch.map((e) => e.id));
        expect(read.map((e) => e.streamRevision)).toEqual([1, 2, 3, 4]);
        expect(result).toEqual({ nextExpectedRevision: 4, position: read.at(-1)?.position });
        expect(await store.headPosition()).toBe(result.position);
      });

      it('a failed multi-event append writes none of its events', async () => {
        const s = stream();
        await store.appendToStream(s, [event()], { expectedRevision: 'no_stream' });
        const head = await store.headPosition();
        await expectConflict(store.appendToStream(s, events(3), { expectedRevision: 'no_stream' }), s, 'no_stream', 0);
        expect(await store.readStream(s)).toHaveLength(1);
        expect(await store.headPosition()).toBe(head);
      });

      it.runIf(uniqueEventIds)('a multi-event append that fails on its last event (id already stored) writes none of them', async () => {
        const existing = event();
        await store.appendToStream(stream('other'), [existing], { expectedRevision: 'no_stream' });
        const head = await store.headPosition();
        const s = stream();
        const first = event();
        const attempt = await outcome(
          store.appendToStream(s, [first, event(), { ...event(), id: existing.id }], { expectedRevision: 'no_stream' }),
        );
        expect(attempt.ok).toBe(false);
        expect(await store.readStream(s)).toEqual([]);
        expect(await store.headPosition()).toBe(head);
        // Nothing of the batch survived: its first id is still free.
        await store.appendToStream(s, [first], { expectedRevision: 'no_stream' });
        expect((await store.readStream(s)).map((e) => e.id)).toEqual([first.id]);
      });

      it('retrying an append with the same event ids writes nothing and returns the original result', async () => {
        const s = stream();
        const firstBatch = events(2);
        const first = await store.appendToStream(s, firstBatch, { expectedRevision: 'no_stream' });
        expect(await store.appendToStream(s, firstBatch, { expectedRevision: 'no_stream' })).toEqual(first);

        const secondBatch = [event()];
        const second = await store.appendToStream(s, secondBatch, { expectedRevision: 1 });
        expect(await store.appendToStream(s, secondBatch, { expectedRevision: 1 })).toEqual(second);

        const thirdBatch = [event()];
        const third = await store.appendToStream(s, thirdBatch, { expectedRevision: 'any' });
        expect(await store.appendToStream(s, thirdBatch, { expectedRevision: 'any' })).toEqual(third);

        const read = await store.readStream(s);
        expect(read.map((e) => e.id)).toEqual([...firstBatch, ...secondBatch, ...thirdBatch].map((e) => e.id));
        expect(await store.headPosition()).toBe(third.position);
      });

      it('a late retry (the stream moved on since) still returns the original result and writes nothing', async () => {
        const s = stream();
        const batch = events(2);
        const original = await store.appendToStream(s, batch, { expectedRevision: 'no_stream' });
        await store.appendToStream(s, [event()], { expectedRevision: 1 });
        const head = await store.headPosition();

        expect(await store.appendToStream(s, batch, { expectedRevision: 'no_stream' })).toEqual(original);
        expect(await store.readStream(s)).toHaveLength(3);
        expect(await store.headPosition()).toBe(head);
      });

      it('an event id already used in another stream is never silently dropped', async () => {
        const taken = event();
        await store.appendToStream(stream('first'), [taken], { expectedRevision: 'no_stream' });
        const s = stream('second');
        const reuse: NewEvent = { ...event({ other: true }), id: taken.id };
        const attempt = await outcome(store.appendToStream(s, [reuse], { expectedRevision: 'no_stream' }));
        if (uniqueEventIds) {
          expect(attempt.ok, 'the adapter must reject an id already stored in another stream').toBe(false);
          if (!attempt.ok) {
            expect(attempt.error).toBeInstanceOf(Error);
            expect(attempt.error).not.toBeInstanceOf(WrongExpectedRevisionError);
            expect(String(attempt.error)).toContain(taken.id);
          }
          expect(await store.readStream(s)).toEqual([]);
        } else if (attempt.ok) {
          const read = await store.readStream(s);
          expect(read.map((e) => [e.id, e.data])).toEqual([[taken.id, { other: true }]]);
        }
      });

      it('rejects the same event id twice in one append, writing nothing', async () => {
        const s = stream();
        const twice = event();
        expect((await outcome(store.appendToStream(s, [twice, twice], { expectedRevision: 'no_stream' }))).ok).toBe(false);
        expect(await store.readStream(s)).toEqual([]);
      });

      it('rejects an invalid expected revision', async () => {
        const s = stream();
        for (const expectedRevision of [-1, 1.5, Number.NaN]) {
          const attempt = await outcome(store.appendToStream(s, [event()], { expectedRevision }));
          expect(attempt.ok).toBe(false);
          if (!attempt.ok) expect(attempt.error).not.toBeInstanceOf(WrongExpectedRevisionError);
        }
        expect(await store.readStream(s)).toEqual([]);
      });

      it('an empty append writes nothing but still checks the expectation', async () => {
        const s = stream();
        expect(await store.appendToStream(s, [], { expectedRevision: 'no_stream' })).toMatchObject({ nextExpectedRevision: -1 });
        expect(await store.readStream(s)).toEqual([]);
        const written = await store.appendToStream(s, [event()], { expectedRevision: 'no_stream' });
        expect(await store.appendToStream(s, [], { expectedRevision: 0 })).toEqual(written);
        await expectConflict(store.appendToStream(s, [], { expectedRevision: 'no_stream' }), s, 'no_stream', 0);
        expect(await store.readStream(s)).toHaveLength(1);
      });

      it('concurrent appends with the same expected revision: exactly one succeeds', async () => {
        const s = stream();
        await store.appendToStream(s, [event()], { expectedRevision: 'no_stream' });
        const attempts = await Promise.allSettled(
          Array.from({ length: 6 }, () => store.appendToStream(s, events(2), { expectedRevision: 0 })),
        );
        const succeeded = attempts.filter((a) => a.status === 'fulfilled');
        const failed = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
        expect(succeeded).toHaveLength(1);
        expect(failed).toHaveLength(5);
        for (const f of failed) {
          expect(f.reason).toBeInstanceOf(WrongExpectedRevisionError);
          expect(f.reason).toMatchObject({ stream: s, expected: 0, actual: 2 });
        }
        expect((await store.readStream(s)).map((e) => e.streamRevision)).toEqual([0, 1, 2]);
      });

      it("concurrent creations with 'no_stream': exactly one succeeds", async () => {
        const s = stream();
        const attempts = await Promise.allSettled(
          Array.from({ length: 6 }, () => store.appendToStream(s, [event()], { expectedRevision: 'no_stream' })),
        );
        expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
        for (const a of attempts) {
          if (a.status === 'rejected') expect(a.reason).toMatchObject({ name: 'WrongExpectedRevisionError', actual: 0 });
        }
        expect(await store.readStream(s)).toHaveLength(1);
      });

      it('round-trips data, metadata, type and schemaVersion exactly (nested JSON, unicode)', async () => {
        const s = stream('round-trip', 'ü-😀');
        const data = {
          text: 'héllo wörld — 日本語 — 😀 — "quotes" \\ backslash\nnewline\ttab',
          nested: { deep: { array: [1, 2.5, -3, 0, true, false, null, 'x', { k: [] }], empty: {} } },
          big: Number.MAX_SAFE_INTEGER,
          negative: -Number.MAX_SAFE_INTEGER,
          float: 0.1,
          tiny: 1e-7,
          emptyString: '',
          odd_keys: { 'a.b': 1, $dollar: 2, '': 3, ключ: 4 },
          control: '\u0000\u001f\u2028',
        };
        const full: NewEvent = {
          id: randomUUID(),
          type: 'tenantry.ThingRenamed',
          schemaVersion: 3,
          data,
          metadata: {
            tenantId: tenant,
            namespace: 'company.team-ü',
            actor: { type: 'SERVICE_ACCOUNT', id: 'sa-Ω' },
            correlationId: randomUUID(),
            causationId: randomUUID(),
            commandId: randomUUID(),
            occurredAt: '2024-05-01T12:00:00.123Z',
            ip: '2001:db8::1',
            userAgent: 'curl/8.0 (日本)',
          },
        };
        const minimal = event(['array', 'at', 'top', { level: 1 }]);
        const text = event('just a string');
        const result = await store.appendToStream(s, [full, minimal, text], { expectedRevision: 'no_stream' });

        const [readFull, readMinimal, readText] = await store.readStream(s);
        const expectedFull: RecordedEvent = { ...full, streamName: s, streamRevision: 0, position: readFull?.position ?? -1 };
        expect(readFull).toStrictEqual(expectedFull);
        expect(readMinimal).toEqual({ ...minimal, streamName: s, streamRevision: 1, position: readMinimal?.position });
        expect(readText?.data).toBe('just a string');
        expect(readText?.position).toBe(result.position);

        const [fromAll] = await store.readAll({ after: headAtStart, streamPrefix: s, maxCount: 1 });
        expect(fromAll).toStrictEqual(expectedFull);

        const subscription = store.subscribeToAll({ after: headAtStart, streamPrefix: s });
        const collector = collect(subscription);
        await collector.waitFor(3);
        expect(collector.events[0]).toStrictEqual(expectedFull);
        await subscription.close();
      });
    });

    describe('readStream', () => {
      it('returns [] for a stream that does not exist', async () => {
        expect(await store.readStream(stream('missing'))).toEqual([]);
      });

      it('honours fromRevision and maxCount', async () => {
        const s = stream();
        const appended = events(5);
        await store.appendToStream(s, appended, { expectedRevision: 'no_stream' });
        const ids = appended.map((e) => e.id);

        expect((await store.readStream(s, { fromRevision: 2 })).map((e) => e.id)).toEqual(ids.slice(2));
        expect((await store.readStream(s, { maxCount: 2 })).map((e) => e.id)).toEqual(ids.slice(0, 2));
        expect((await store.readStream(s, { fromRevision: 1, maxCount: 3 })).map((e) => e.streamRevision)).toEqual([1, 2, 3]);
        expect(await store.readStream(s, { fromRevision: 5 })).toEqual([]);
        expect(await store.readStream(s, { fromRevision: 100, maxCount: 1 })).toEqual([]);
      });

      it('does not mix streams that share a prefix', async () => {
        const a = stream('thing', 'a');
        const ab = stream('thing', 'ab');
        await store.appendToStream(a, [event()], { expectedRevision: 'no_stream' });
        await store.appendToStream(ab, events(2), { expectedRevision: 'no_stream' });
        expect(await store.readStream(a)).toHaveLength(1);
        expect(await store.readStream(ab)).toHaveLength(2);
      });
    });

    describe('findInStream', () => {
      it('finds an event of the stream by id, anywhere in it, as readStream gives it', async () => {
        const s = stream();
        const appended = events(5);
        await store.appendToStream(s, appended, { expectedRevision: 'no_stream' });
        const [byRead] = await store.readStream(s, { fromRevision: 1, maxCount: 1 });
        expect(await store.findInStream(s, appended[1]!.id)).toEqual(byRead);
        expect((await store.findInStream(s, appended[4]!.id))?.streamRevision).toBe(4);
        expect((await store.findInStream(s, appended[0]!.id))?.streamRevision).toBe(0);
      });

      it('answers null for an unknown id, an id of another stream, and a missing stream', async () => {
        const a = stream('thing', 'a');
        const b = stream('thing', 'b');
        const inB = event();
        await store.appendToStream(a, [event()], { expectedRevision: 'no_stream' });
        await store.appendToStream(b, [inB], { expectedRevision: 'no_stream' });
        expect(await store.findInStream(a, randomUUID())).toBeNull();
        expect(await store.findInStream(a, inB.id)).toBeNull();
        expect(await store.findInStream(stream('missing'), inB.id)).toBeNull();
      });
    });

    describe('readAll', () => {
      it('returns events of every stream in global append order, positions strictly increasing', async () => {
        const a = stream('a');
        const b = stream('b');
        const order: string[] = [];
        const append = async (s: string, batch: NewEvent[], expectedRevision: ExpectedRevision) => {
          await store.appendToStream(s, batch, { expectedRevision });
          order.push(...batch.map((e) => e.id));
        };
        await append(a, [event()], 'no_stream');
        await append(b, events(2), 'no_stream');
        await append(a, events(2), 0);
        await append(b, [event()], 1);

        const all = await store.readAll({ after: headAtStart });
        const mine = all.filter((e) => e.streamName.startsWith(`${tenant}/`));
        expect(mine.map((e) => e.id)).toEqual(order);
        expect(all[0]?.position).toBeGreaterThanOrEqual(1);
        expectStrictlyIncreasing(all.map((e) => e.position));
        expect(all.every((e) => e.position > headAtStart)).toBe(true);
        expect(mine.map((e) => `${e.streamName === a ? 'a' : 'b'}${e.streamRevision}`)).toEqual(['a0', 'b0', 'b1', 'a1', 'a2', 'b2']);
      });

      it('`after` is exclusive and maxCount pages through without gaps or duplicates', async () => {
        const s = stream();
        const appended = events(7);
        await store.appendToStream(s, appended.slice(0, 3), { expectedRevision: 'no_stream' });
        await store.appendToStream(s, appended.slice(3), { expectedRevision: 2 });

        const all = await ours();
        expect(all.map((e) => e.id)).toEqual(appended.map((e) => e.id));
        const third = all[2];
        expect((await store.readAll({ after: third?.position ?? 0, streamPrefix: `${tenant}/` })).map((e) => e.id)).toEqual(
          appended.slice(3).map((e) => e.id),
        );

        const paged: RecordedEvent[] = [];
        let after = headAtStart;
        for (;;) {
          const page = await store.readAll({ after, maxCount: 2, streamPrefix: `${tenant}/` });
          expect(page.length).toBeLessThanOrEqual(2);
          if (page.length === 0) break;
          paged.push(...page);
          after = page.at(-1)?.position ?? after;
        }
        expect(paged).toEqual(all);
        expect(await store.readAll({ after: all.at(-1)?.position ?? 0, streamPrefix: `${tenant}/` })).toEqual([]);
        expect(await store.readAll({ after: headAtStart, maxCount: 0 })).toEqual([]);
      });

      it('streamPrefix is a literal prefix: `acme/` never returns `acme-corp/...`', async () => {
        const inside = stream('x', '1');
        const insideUnicode = streamName(tenant, '😀', 'ü');
        // Continues the prefix `${tenant}/x` with an astral character (sorts after U+FFFF).
        const insideAstral = streamName(tenant, 'x😀', '1');
        const corp = streamName(`${tenant}-corp`, 'x', '1');
        // '0' is the character right after '/': the first name past the prefix range.
        const nextChar = streamName(`${tenant}0`, 'x', '1');
        const bare = tenant;
        for (const s of [inside, corp, insideUnicode, nextChar, insideAstral, bare]) {
          await store.appendToStream(s, [event()], { expectedRevision: 'no_stream' });
        }

        const slash = await store.readAll({ after: headAtStart, streamPrefix: `${tenant}/` });
        expect(slash.map((e) => e.streamName)).toEqual([inside, insideUnicode, insideAstral]);

        const corpOnly = await store.readAll({ after: headAtStart, streamPrefix: `${tenant}-corp/` });
        expect(corpOnly.map((e) => e.streamName)).toEqual([corp]);

        const loose = await store.readAll({ after: headAtStart, streamPrefix: tenant });
        expect(loose.map((e) => e.streamName)).toEqual([inside, corp, insideUnicode, nextChar, insideAstral, bare]);

        const category = await store.readAll({ after: headAtStart, streamPrefix: `${tenant}/x` });
        expect(category.map((e) => e.streamName)).toEqual([inside, insideAstral]);

        const one = await store.readAll({ after: headAtStart, streamPrefix: `${tenant}/x/1` });
        expect(one.map((e) => e.streamName)).toEqual([inside]);

        expect(await store.readAll({ after: headAtStart, streamPrefix: `${tenant}/nothing-here/` })).toEqual([]);
      });

      it('maxCount with a streamPrefix counts only matching events', async () => {
        const s = stream();
        const noise = streamName(`${tenant}-corp`, 'x', '1');
        await store.appendToStream(noise, events(5), { expectedRevision: 'no_stream' });
        const mine = events(3);
        await store.appendToStream(s, mine, { expectedRevision: 'no_stream' });
        const page = await store.readAll({ after: headAtStart, maxCount: 2, streamPrefix: `${tenant}/` });
        expect(page.map((e) => e.id)).toEqual(mine.slice(0, 2).map((e) => e.id));
      });
    });

    describe('headPosition and ping', () => {
      it('headPosition is the position of the last stored event', async () => {
        if ((await store.readAll({ maxCount: 1 })).length === 0) expect(headAtStart).toBe(0);
        const first = await store.appendToStream(stream(), events(2), { expectedRevision: 'no_stream' });
        expect(await store.headPosition()).toBe(first.position);
        const second = await store.appendToStream(stream(), [event()], { expectedRevision: 'no_stream' });
        expect(second.position).toBeGreaterThan(first.position);
        expect(await store.headPosition()).toBe(second.position);
        const [last] = await store.readAll({ after: first.position });
        expect(last?.position).toBe(second.position);
      });

      it('ping resolves', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });
    });

    describe('subscribeToAll', () => {
      it('delivers stored events, then live ones, in order, without duplicates', async () => {
        const s = stream();
        const stored = events(3);
        await store.appendToStream(s, stored, { expectedRevision: 'no_stream' });

        const subscription = store.subscribeToAll({ after: headAtStart, streamPrefix: `${tenant}/` });
        const collector = collect(subscription);
        await collector.waitFor(3);

        const live = events(2);
        await store.appendToStream(s, live.slice(0, 1), { expectedRevision: 2 });
        const other = stream('other');
        await store.appendToStream(other, live.slice(1), { expectedRevision: 'no_stream' });
        await collector.waitFor(5);
        await sleep(250); // long enough for a poll cycle to deliver a duplicate, if any

        expect(collector.events.map((e) => e.id)).toEqual([...stored, ...live].map((e) => e.id));
        expectStrictlyIncreasing(collector.events.map((e) => e.position));
        expect(collector.events[4]?.streamName).toBe(other);

        await subscription.close();
        await within(collector.done, 5000, 'iteration ending after close()');
        expect(collector.failure).toBeUndefined();
      });

      it('honours `after` (exclusive) and streamPrefix', async () => {
        const s = stream();
        const appended = events(4);
        await store.appendToStream(s, appended, { expectedRevision: 'no_stream' });
        await store.appendToStream(streamName(`${tenant}-corp`, 'x', '1'), [event()], { expectedRevision: 'no_stream' });
        const second = (await store.readStream(s))[1];

        const collector = collect(store.subscribeToAll({ after: second?.position ?? 0, streamPrefix: `${tenant}/` }));
        await collector.waitFor(2);
        await store.appendToStream(streamName(`${tenant}-corp`, 'x', '2'), [event()], { expectedRevision: 'no_stream' });
        const last = event();
        await store.appendToStream(s, [last], { expectedRevision: 3 });
        await collector.waitFor(3);
        await sleep(250);
        expect(collector.events.map((e) => e.id)).toEqual([appended[2]?.id, appended[3]?.id, last.id]);
      });

      it('without a prefix, delivers every stream (in order, after `after`)', async () => {
        const a = stream('a');
        const corp = streamName(`${tenant}-corp`, 'x', '1');
        const first = event();
        const second = event();
        await store.appendToStream(a, [first], { expectedRevision: 'no_stream' });
        const subscription = store.subscribeToAll({ after: headAtStart });
        const collector = collect(subscription);
        await store.appendToStream(corp, [second], { expectedRevision: 'no_stream' });
        await vi.waitFor(() => expect(collector.events.map((e) => e.id)).toContain(second.id), { timeout: 10_000 });
        const mine = collector.events.filter((e) => e.streamName.startsWith(tenant));
        expect(mine.map((e) => e.id)).toEqual([first.id, second.id]);
        expect(collector.events.every((e) => e.position > headAtStart)).toBe(true);
        expectStrictlyIncreasing(collector.events.map((e) => e.position));
        await subscription.close();
        await within(collector.done, 5000, 'iteration ending after close()');
      });

      it('delivers batches of at most batchSize', async () => {
        const s = stream();
        const appended = events(7);
        await store.appendToStream(s, appended, { expectedRevision: 'no_stream' });
        const collector = collect(store.subscribeToAll({ after: headAtStart, streamPrefix: `${tenant}/`, batchSize: 3 }));
        await collector.waitFor(7);
        expect(collector.events.map((e) => e.id)).toEqual(appended.map((e) => e.id));
        expect(collector.batchSizes.every((size) => size >= 1 && size <= 3)).toBe(true);
      });

      it('close() ends an idle iteration promptly', async () => {
        const subscription = store.subscribeToAll({ after: headAtStart, streamPrefix: `${tenant}/` });
        const collector = collect(subscription);
        await sleep(50);
        await subscription.close();
        await within(collector.done, 2000, 'iteration ending after close()');
        expect(collector.events).toEqual([]);
        expect(collector.failure).toBeUndefined();
      });

      it('breaking out of for-await closes the subscription; appends keep working', async () => {
        const s = stream();
        await store.appendToStream(s, events(2), { expectedRevision: 'no_stream' });
        const subscription = store.subscribeToAll({ after: headAtStart, streamPrefix: `${tenant}/`, batchSize: 1 });
        const seen: RecordedEvent[] = [];
        for await (const batch of subscription) {
          seen.push(...batch);
          break;
        }
        expect(seen).toHaveLength(1);
        await subscription.close(); // idempotent
        await store.appendToStream(s, [event()], { expectedRevision: 1 });
        expect(await store.readStream(s)).toHaveLength(3);
      });

      it('closing the store ends its subscriptions', async () => {
        const collector = collect(store.subscribeToAll({ after: headAtStart, streamPrefix: `${tenant}/` }));
        await sleep(20);
        await store.close();
        await within(collector.done, 5000, 'iteration ending after store.close()');
      });
    });

    describe('lifecycle', () => {
      it('after close(), operations fail with EventStoreUnavailableError; close() is idempotent', async () => {
        await store.close();
        await store.close();
        const attempt = await outcome(store.appendToStream(stream(), [event()], { expectedRevision: 'any' }));
        expect(attempt.ok).toBe(false);
        if (!attempt.ok) expect(attempt.error).toBeInstanceOf(EventStoreUnavailableError);
        await expect(store.readStream(stream())).rejects.toBeInstanceOf(EventStoreUnavailableError);
        await expect(store.readAll()).rejects.toBeInstanceOf(EventStoreUnavailableError);
        await expect(store.headPosition()).rejects.toBeInstanceOf(EventStoreUnavailableError);
        await expect(store.ping()).rejects.toBeInstanceOf(EventStoreUnavailableError);
      });
    });
  });
}
