/**
 * The command handler's work does not grow with a stream's history: counted
 * in events read from a real (memory) event store and snapshots stored in a
 * real (memory) document store, never in time.
 */
import { describe, expect, it } from 'vitest';
import type { CommandMetadata } from '../../src/aggregates/decider.js';
import { namespaceDecider, type NamespaceState } from '../../src/aggregates/namespace/namespace.js';
import { CommandHandler } from '../../src/commands/handler.js';
import { DocumentSnapshotStore, SNAPSHOTS, type SnapshotStore } from '../../src/commands/snapshots.js';
import { MemoryEventStore } from '../../src/eventstore/memory.js';
import { UpcasterRegistry } from '../../src/events/upcasting.js';
import { DocumentStoreUnavailableError } from '../../src/readmodels/port.js';
import { MemoryDocumentStore } from '../../src/readmodels/memory.js';
import { CountingEvents } from '../support/counting-events.js';

const stream = 'acme/namespace/company';
const EVERY = 10;

/** Minute `n` of 2026-01-01, as ISO-8601 (n < 10,000). */
const at = (n: number): string => new Date(Date.UTC(2026, 0, 1) + n * 60_000).toISOString();

const meta = (commandId: string, n: number, fresh = true): CommandMetadata => ({
  commandId,
  tenantId: 'acme',
  actor: { type: 'USER', id: `user${n}` },
  now: at(n),
  correlationId: commandId,
  ...(fresh ? { fresh: true } : {}),
});

const create = (n = 0) => ({ type: 'CreateNamespace' as const, data: { id: 'company', description: null }, metadata: meta('create', n) });
const update = (n: number, fresh = true) => ({
  type: 'UpdateNamespace' as const,
  data: { id: 'company', patch: { variables: { n } } },
  metadata: meta(`u${n}`, n, fresh),
});

function setup(snapshots?: SnapshotStore) {
  const counting = new CountingEvents();
  const store = counting.wrap(new MemoryEventStore());
  const documents = new MemoryDocumentStore();
  const snapshotStore = snapshots ?? new DocumentSnapshotStore(documents);
  const handler = (): CommandHandler =>
    new CommandHandler(store, new UpcasterRegistry(), { snapshots: snapshotStore, snapshotEvery: EVERY });
  return { counting, store, documents, handler };
}

/** A namespace stream of 1 create and `updates` updates; update n happens at minute n. */
async function history(handler: CommandHandler, updates: number): Promise<void> {
  await handler.handle(namespaceDecider, stream, create());
  for (let n = 1; n <= updates; n++) await handler.handle(namespaceDecider, stream, update(n));
}

const variablesOf = (state: NamespaceState): unknown => (state.status === 'active' ? state.variables : null);

describe('command handler: work per command does not grow with the stream', () => {
  it('a command reads the same few events from the log at revision 10 as at revision 1,000', async () => {
    const { counting, handler } = setup();
    const h = handler();
    await history(h, 1000);
    const readFor = async (n: number): Promise<number> => {
      counting.reset();
      await h.handle(namespaceDecider, stream, update(n));
      return counting.streamEventsRead;
    };
    // Warm (cached) state: only the (empty) tail after it is read.
    expect(await readFor(1001)).toBe(0);
    expect(await readFor(1002)).toBe(0);
  });

  it('cold, a command starts from the newest stored snapshot: it reads one interval to see the stream is long, then the tail', async () => {
    const { counting, handler, documents } = setup();
    await history(handler(), 1000);
    expect(await documents.collection(SNAPSHOTS).countDocuments({})).toBe(100); // revisions 10, 20, …, 1000

    counting.reset();
    const cold = handler(); // a new process: nothing cached
    const result = await cold.handle(namespaceDecider, stream, update(1001));
    expect(result.revision).toBe(1002);
    expect(counting.streamEventsRead).toBeLessThanOrEqual(2 * EVERY + 1);
    expect(variablesOf(result.state)).toEqual({ n: 1001 });
  });

  it('a stream folded for the first time takes its snapshots on the way, and the next cold load uses them', async () => {
    const { counting, store, documents, handler } = setup();
    // Written without the handler (as an import would): no snapshots exist.
    await history(new CommandHandler(store, new UpcasterRegistry(), { snapshotEvery: EVERY }), 200);
    expect(await documents.collection(SNAPSHOTS).countDocuments({})).toBe(0);

    counting.reset();
    await handler().load(namespaceDecider, stream);
    expect(counting.streamEventsRead).toBe(201);
    expect(await documents.collection(SNAPSHOTS).countDocuments({})).toBe(20);

    counting.reset();
    const loaded = await handler().load(namespaceDecider, stream);
    expect(counting.streamEventsRead).toBeLessThanOrEqual(2 * EVERY + 1);
    expect(loaded.revision).toBe(201);
    expect(variablesOf(loaded.state)).toEqual({ n: 200 });
  });

  it('a cached state far behind the stream (another process appended meanwhile) jumps to the newest snapshot', async () => {
    const { counting, handler } = setup();
    const mine = handler();
    const other = handler(); // another replica, sharing the log and the snapshot store
    await history(mine, 5); // cached here at revision 6
    for (let n = 6; n <= 500; n++) await other.handle(namespaceDecider, stream, update(n));
    counting.reset();
    const result = await mine.handle(namespaceDecider, stream, update(501));
    expect(result.revision).toBe(502);
    expect(variablesOf(result.state)).toEqual({ n: 501 });
    // One page of the interval to see it is behind, then the events after the snapshot at 500: not the 495 in between.
    expect(counting.streamEventsRead).toBeLessThanOrEqual(2 * EVERY + 2);
  });

  it('time travel starts from whichever is further along: the cached state or the snapshot', async () => {
    const { counting, store, handler } = setup();
    const h = handler();
    await h.load(namespaceDecider, stream); // caches the empty stream (revision 0)
    await history(new CommandHandler(store, new UpcasterRegistry(), { snapshotEvery: EVERY }), 300); // no snapshots, cache untouched
    await handler().load(namespaceDecider, stream); // another handler folds it once, taking snapshots
    counting.reset();
    const loaded = await h.loadAsOf(namespaceDecider, stream, new Date(Date.parse(at(250)) + 30_000).toISOString());
    expect(loaded.revision).toBe(251);
    expect(counting.streamEventsRead).toBeLessThanOrEqual(EVERY + 1);
  });

  it('without a snapshot store (it is down), commands still fold the whole stream correctly', async () => {
    const failing: SnapshotStore = {
      latest: () => Promise.reject(new DocumentStoreUnavailableError('down')),
      atOrBefore: () => Promise.reject(new DocumentStoreUnavailableError('down')),
      save: () => Promise.reject(new DocumentStoreUnavailableError('down')),
    };
    const { handler } = setup(failing);
    await history(handler(), 50);
    const result = await handler().handle(namespaceDecider, stream, update(51));
    expect(result.revision).toBe(52);
    expect(variablesOf(result.state)).toEqual({ n: 51 });
  });

  it('a retried command (same id) is recognised by one lookup, not by re-reading the stream', async () => {
    const { counting, handler } = setup();
    const h = handler();
    await history(h, 500);
    const first = await h.handle(namespaceDecider, stream, update(10_000 - 1, false));
    counting.reset();
    const again = await h.handle(namespaceDecider, stream, update(10_000 - 1, false));
    expect(again.position).toBe(first.position);
    expect(again.events.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
    expect(counting.streamEventsRead).toBeLessThanOrEqual(2);
  });
});

describe('time travel (loadAsOf): bounded by the distance to the nearest snapshot', () => {
  it('gives exactly what folding the stream up to that time gives, reading fewer events than the interval', async () => {
    const { counting, store, handler } = setup();
    await history(handler(), 1000);
    const reference = new CommandHandler(store, new UpcasterRegistry()); // no snapshots, no cache of this stream
    for (const minute of [0, 1, 9, 10, 11, 355, 999, 1000, 5000]) {
      const until = new Date(Date.parse(at(minute)) + 30_000).toISOString(); // between two updates
      counting.reset();
      const fast = await handler().loadAsOf(namespaceDecider, stream, until);
      expect(counting.streamEventsRead, `events read for asOf minute ${minute}`).toBeLessThanOrEqual(EVERY + 1);
      const slow = await reference.loadAsOf(namespaceDecider, stream, until);
      expect(fast).toEqual(slow);
      expect(fast.revision).toBe(Math.min(minute, 1000) + 1);
    }
  });

  it('before the first event: the initial state', async () => {
    const { handler } = setup();
    await history(handler(), 30);
    const loaded = await handler().loadAsOf(namespaceDecider, stream, '2025-12-31T00:00:00.000Z');
    expect(loaded.revision).toBe(0);
    expect(loaded.state.status).toBe('absent');
  });

  it('a clock that went backwards: the prefix up to the first later event, as a full fold says', async () => {
    const { store, handler } = setup();
    const h = handler();
    await h.handle(namespaceDecider, stream, create(0));
    for (let n = 1; n <= 40; n++) {
      // Update 25 claims minute 2: out of order.
      const minute = n === 25 ? 2 : n;
      await h.handle(namespaceDecider, stream, { ...update(n), metadata: meta(`u${n}`, minute) });
    }
    const reference = new CommandHandler(store, new UpcasterRegistry());
    for (const minute of [1, 3, 20, 24, 26, 40]) {
      const until = new Date(Date.parse(at(minute)) + 30_000).toISOString();
      expect(await handler().loadAsOf(namespaceDecider, stream, until)).toEqual(await reference.loadAsOf(namespaceDecider, stream, until));
    }
  });
});
