/**
 * The audit fan-out hub and its feeds, on the real memory store behind a
 * stand-in for the audit projection's runner (so the test decides when
 * batches are applied, and holds store reads to interleave steps). Every
 * assertion counts store calls, entries or predicate tests; none waits for
 * time to pass.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ListScope } from '../../src/auth/authorizer.js';
import type { AuditLogFilterInput } from '../../src/application/audit-criteria.js';
import { AuditFeed, type FeedFilter } from '../../src/application/audit-feed.js';
import { AuditHub, DEFAULT_HUB_LIMITS, type AuditGeneration, type AuditHubLimits } from '../../src/application/audit-hub.js';
import { feedFilter } from '../../src/application/audit.js';
import type { RecordedEvent } from '../../src/eventstore/port.js';
import { namespacePathOf, type AuditEntryDocument } from '../../src/projections/audit/audit-entry.js';
import { AUDIT_LOGS, AUDIT_LOG_INDEXES } from '../../src/projections/audit/audit.projection.js';
import { MemoryDocumentStore } from '../../src/readmodels/memory.js';
import type { Collection, Document, DocumentStore } from '../../src/readmodels/port.js';
import { CountingStore, latch, type StoreCall } from '../support/counting-store.js';

type Listener = (events: readonly RecordedEvent[], position: number, from: number) => void;

/** Stands in for the audit projection's runner: one generation of the audit log collection. */
class Generation implements AuditGeneration {
  appliedPosition = 0;
  private readonly listeners = new Set<Listener>();
  private waiters: { position: number; resolve: (ok: boolean) => void }[] = [];

  constructor(
    private readonly store: DocumentStore,
    readonly target: string,
  ) {}

  collection<T extends Document = Document>(logicalName: string): Collection<T> {
    return this.store.collection<T>(`${logicalName}_${this.target}`);
  }

  onApplied(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  waitFor(position: number, timeoutMs: number): Promise<boolean> {
    if (this.appliedPosition >= position) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { position, resolve };
      this.waiters.push(waiter);
      setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(this.appliedPosition >= position);
      }, timeoutMs).unref();
    });
  }

  /** Replaced by another generation: waiters learn at once (as ProjectionRunner.stop resolves them). */
  stop(): void {
    for (const waiter of this.waiters.splice(0)) waiter.resolve(false);
  }

  /** Writes the batch's entries, then moves the applied position, tells listeners and wakes waiters (as the runner does). */
  async apply(docs: readonly AuditEntryDocument[]): Promise<void> {
    if (docs.length > 0) {
      await this.collection<AuditEntryDocument>(AUDIT_LOGS).bulkWrite(
        docs.map((document) => ({ insertOne: { document: { ...document } } })),
      );
    }
    const from = this.appliedPosition;
    const last = docs.at(-1)?.position ?? from;
    if (last <= from) return;
    this.appliedPosition = last;
    const events = docs.map((d) => ({ streamName: `${d.tenantId}/x`, position: d.position }) as unknown as RecordedEvent);
    for (const listener of this.listeners) listener(events, last, from);
    const ready = this.waiters.filter((w) => w.position <= last);
    this.waiters = this.waiters.filter((w) => w.position > last);
    for (const waiter of ready) waiter.resolve(true);
  }
}

let position = 0;

function entry(tenantId: string, fields: Partial<AuditEntryDocument> = {}): AuditEntryDocument {
  position++;
  const doc: AuditEntryDocument = {
    _id: `event-${position}`,
    tenantId,
    namespace: 'team',
    resourceType: 'NAMESPACE',
    resourceId: `ns${position}`,
    action: 'CREATE',
    eventType: 'NamespaceCreated',
    actor: { type: 'USER', id: 'alice' },
    occurredAt: '2026-03-01T10:00:00.000Z',
    correlationId: 'c',
    ip: null,
    userAgent: null,
    previousHash: null,
    hash: 'h',
    position,
    changesJson: null,
    namespacePath: [],
    ...fields,
  };
  // Derived from the namespace, as the projection stores it (the store query filters on it).
  return { ...doc, namespacePath: fields.namespacePath ?? namespacePathOf(doc.namespace) };
}

const entries = (tenantId: string, n: number, fields: Partial<AuditEntryDocument> = {}): AuditEntryDocument[] =>
  Array.from({ length: n }, () => entry(tenantId, fields));

/** Filters that match nothing the tests write, one of each routing kind and two without a key. */
const NOTHING: AuditLogFilterInput[] = [
  { resourceId: 'ghost' },
  { actorId: 'ghost' },
  { resourceType: 'GHOST' },
  { action: 'HAUNT' },
  { namespace: 'nowhere' },
  { from: new Date('2100-01-01') },
  { to: new Date('2000-01-01') },
];

describe('AuditHub: live audit fan-out', () => {
  let counting: CountingStore;
  let generation: Generation;
  let current: Generation;
  let limits: AuditHubLimits;
  let hub: AuditHub;
  const feeds: AuditFeed[] = [];

  beforeEach(async () => {
    position = 0;
    counting = new CountingStore();
    const store = counting.wrap(new MemoryDocumentStore());
    generation = current = new Generation(store, 'v2');
    await generation.collection(AUDIT_LOGS).createIndexes(AUDIT_LOG_INDEXES);
    limits = { ...DEFAULT_HUB_LIMITS, now: () => 0 };
    hub = new AuditHub(() => current, limits);
  });

  afterEach(async () => {
    for (const feed of feeds.splice(0)) await feed.return();
  });

  const follow = (
    tenantId: string,
    filter: AuditLogFilterInput,
    after: number | null = null,
    options: { scope?: ListScope; recheck?: () => Promise<FeedFilter | null> } = {},
  ): AuditFeed => {
    const scope = options.scope ?? { all: true };
    const feed = new AuditFeed(hub, {
      tenantId,
      filter: feedFilter(filter, scope),
      after,
      recheck: options.recheck ?? (() => Promise.resolve(feedFilter(filter, scope))),
    });
    feeds.push(feed);
    return feed;
  };

  /** Applies one batch and waits until the hub has offered it to every feed. */
  const apply = async (docs: AuditEntryDocument[], to: Generation = generation): Promise<void> => {
    await to.apply(docs);
    await hub.settled(to.appliedPosition);
  };

  /** Takes `n` entries from a feed: they must be there or come (a missing one fails the test instead of hanging it). */
  const take = async (feed: AuditFeed, n: number): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const next = await Promise.race([
        feed.next(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`entry ${out.length + 1} of ${n} never came`)), 5000).unref()),
      ]);
      if (next.done) throw new Error(`feed ended after ${out.length} of ${n} entries`);
      out.push(Number(next.value.position));
    }
    return out;
  };

  const positionsOf = (docs: readonly AuditEntryDocument[]): number[] => docs.map((d) => d.position);
  const auditReads = (): StoreCall[] => counting.reads(AUDIT_LOGS);

  it('idle subscriptions cost no store reads of their own: one read per batch for 1, 10 or 100 of them, none without any', async () => {
    const readsPerBatch: Record<number, number> = {};
    for (const n of [0, 1, 10, 100]) {
      const idle = Array.from({ length: n }, (_, i) => follow('acme', NOTHING[i % NOTHING.length] ?? {}));
      counting.reset();
      for (let i = 0; i < 5; i++) await apply(entries('acme', 1));
      // Events of a tenant nobody follows: not read at all.
      for (let i = 0; i < 5; i++) await apply(entries('quiet', 2));
      readsPerBatch[n] = auditReads().length / 5;
      expect(idle.every((feed) => feed.held === 0)).toBe(true);
      for (const feed of idle) await feed.return();
    }
    expect(readsPerBatch).toEqual({ 0: 0, 1: 1, 10: 1, 100: 1 });
    // Each read returned just the batch's entry.
    counting.reset();
    follow('acme', { resourceId: 'ghost' });
    await apply(entries('acme', 1));
    expect(auditReads().map((c) => c.returned)).toEqual([1]);
  });

  it('the same reads with a history of 0 or 5,000 entries', async () => {
    await apply(entries('big', 5000));
    const perTenant: Record<string, StoreCall[]> = {};
    for (const tenant of ['fresh', 'big']) {
      const idle = Array.from({ length: 10 }, (_, i) => follow(tenant, NOTHING[i % NOTHING.length] ?? {}));
      counting.reset();
      for (let i = 0; i < 5; i++) await apply(entries(tenant, 1));
      perTenant[tenant] = auditReads();
      for (const feed of idle) await feed.return();
    }
    expect(perTenant['fresh']?.map((c) => c.returned)).toEqual([1, 1, 1, 1, 1]);
    expect(perTenant['big']?.map((c) => c.returned)).toEqual([1, 1, 1, 1, 1]);
  });

  it('a matching subscriber among 100 others receives exactly its entries; the others are not even tested', async () => {
    const tests = { matching: 0, others: 0 };
    const counted = (feed: AuditFeed, which: keyof typeof tests): AuditFeed => {
      const original = feed.matches;
      Object.defineProperty(feed, 'matches', {
        value: (doc: AuditEntryDocument) => {
          tests[which]++;
          return original(doc);
        },
      });
      return feed;
    };
    // Keyed by resourceId, actor, type, action or namespace subtree: keys the entries below never carry.
    const others = Array.from({ length: 100 }, (_, i) =>
      counted(
        follow(
          'acme',
          [{ resourceId: `r${i}` }, { actorId: `u${i}` }, { resourceType: `T${i}` }, { action: `A${i}` }, { namespace: `team.n${i}` }][
            i % 5
          ] ?? {},
        ),
        'others',
      ),
    );
    const matching = counted(follow('acme', { resourceId: 'target' }), 'matching');
    const mine: AuditEntryDocument[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const docs = [...entries('acme', 4, { namespace: 'team.x' }), entry('acme', { resourceId: 'target', namespace: 'team.x' })];
      mine.push(...docs.filter((d) => d.resourceId === 'target'));
      await apply(docs);
    }
    expect(await take(matching, mine.length)).toEqual(positionsOf(mine));
    expect(matching.held).toBe(0);
    expect(others.every((feed) => feed.held === 0)).toBe(true);
    // Dispatch looked only at the candidate filed under the entry's keys: 10 tests, not 50 x 101.
    expect(tests).toEqual({ matching: mine.length, others: 0 });
  });

  it('a subscription without a key is tested on every entry of its tenant, and only of its tenant', async () => {
    let tested = 0;
    const unkeyed = follow('acme', { from: new Date('2000-01-01') });
    const original = unkeyed.matches;
    Object.defineProperty(unkeyed, 'matches', { value: (doc: AuditEntryDocument) => (tested++, original(doc)) });
    const docs = entries('acme', 6);
    await apply([...docs, ...entries('other', 6)]);
    expect(await take(unkeyed, 6)).toEqual(positionsOf(docs));
    expect(tested).toBe(6);
  });

  it('resumes after a position across several pages while live entries arrive, without gaps or duplicates', async () => {
    limits.pageSize = 7;
    const live = follow('acme', {});
    const history: AuditEntryDocument[] = [];
    for (let i = 0; i < 8; i++) {
      const docs = [...entries('acme', 5), ...entries('other', 2)];
      history.push(...docs.filter((d) => d.tenantId === 'acme'));
      await apply(docs);
    }
    expect(await take(live, history.length)).toEqual(positionsOf(history));

    // The resuming feed's first own read waits until more entries were applied and dispatched.
    const hold = latch();
    const held = latch();
    counting.gate = async (call) => {
      if (call.method === 'find' && call.filter && '$and' in call.filter) {
        counting.gate = null;
        held.open();
        await hold.promise;
      }
    };
    const after = history[4]?.position ?? 0;
    const resumed = follow('acme', {}, after);
    const first = resumed.next();
    await held.promise;
    const more = entries('acme', 20);
    for (let i = 0; i < 20; i += 5) await apply(more.slice(i, i + 5));
    hold.open();
    const expected = [...history.filter((d) => d.position > after), ...more];
    const got = [Number((await first).value?.position), ...(await take(resumed, expected.length - 1))];
    expect(got).toEqual(positionsOf(expected));
    // Its own reads: 35 entries of history in pages of 7, then one short page.
    const own = auditReads().filter((c) => c.filter && '$and' in c.filter);
    expect(own.map((c) => c.returned)).toEqual([7, 7, 7, 7, 7, 0]);
    expect(resumed.held).toBe(0);
  });

  it('a subscription registering while the hub is between two pages of a batch gets the rest of it, and a resuming one all of it', async () => {
    limits.pageSize = 4;
    const first = follow('acme', {});
    const batch = entries('acme', 10);
    const hold = latch();
    const held = latch();
    let hubPages = 0;
    counting.gate = async (call) => {
      if (call.method === 'find' && call.filter && !('$and' in call.filter) && ++hubPages === 2) {
        held.open();
        await hold.promise;
      }
    };
    const applied = apply(batch);
    await held.promise;
    // The hub dispatched the first page (4 entries) and is reading the second.
    const fromNow = follow('acme', {});
    const fromStart = follow('acme', {}, 0);
    hold.open();
    await applied;
    const later = entries('acme', 3);
    await apply(later);
    expect(await take(first, 13)).toEqual(positionsOf([...batch, ...later]));
    expect(await take(fromNow, 9)).toEqual(positionsOf([...batch.slice(4), ...later]));
    expect(await take(fromStart, 13)).toEqual(positionsOf([...batch, ...later]));
    expect([first, fromNow, fromStart].map((f) => f.held)).toEqual([0, 0, 0]);
  });

  it('a slow consumer holds at most its buffer bound, then catches up from the store: every entry once, in order', async () => {
    limits.bufferLimit = 5;
    limits.pageSize = 4;
    const slow = follow('acme', {});
    const written: AuditEntryDocument[] = [];
    let maxHeld = 0;
    for (let i = 0; i < 8; i++) {
      const docs = entries('acme', 4);
      written.push(...docs);
      await apply(docs);
      maxHeld = Math.max(maxHeld, slow.held);
    }
    expect(maxHeld).toBeLessThanOrEqual(limits.bufferLimit);
    // It takes a few, falls behind again, then takes the rest.
    const got = await take(slow, 3);
    for (let i = 0; i < 4; i++) {
      const docs = entries('acme', 4);
      written.push(...docs);
      await apply(docs);
      maxHeld = Math.max(maxHeld, slow.held);
    }
    got.push(...(await take(slow, written.length - 3)));
    expect(got).toEqual(positionsOf(written));
    expect(maxHeld).toBeLessThanOrEqual(limits.bufferLimit + limits.pageSize);
    expect(slow.held).toBe(0);
    const extra = entries('acme', 2);
    await apply(extra);
    expect(await take(slow, 2)).toEqual(positionsOf(extra));
  });

  it('a resuming consumer whose pending entries overflow while it catches up still gets every entry once', async () => {
    limits.bufferLimit = 5;
    limits.pageSize = 4;
    follow('other', {});
    const history = entries('acme', 6);
    await apply(history);
    const hold = latch();
    const held = latch();
    counting.gate = async (call) => {
      if (call.method === 'find' && call.filter && '$and' in call.filter) {
        counting.gate = null;
        held.open();
        await hold.promise;
      }
    };
    const resumed = follow('acme', {}, 0);
    const first = resumed.next();
    await held.promise;
    const more = entries('acme', 23);
    for (let i = 0; i < more.length; i += 3) {
      await apply(more.slice(i, i + 3));
      expect(resumed.held).toBeLessThanOrEqual(limits.bufferLimit);
    }
    hold.open();
    const got = [Number((await first).value?.position), ...(await take(resumed, history.length + more.length - 1))];
    expect(got).toEqual(positionsOf([...history, ...more]));
  });

  it('re-checks rights at most every recheckMs before delivering, and ends when they are gone', async () => {
    let now = 0;
    limits.now = () => now;
    let rechecks = 0;
    let allowed = true;
    const filter = feedFilter({}, { all: true });
    const feed = follow('acme', {}, null, {
      recheck: () => {
        rechecks++;
        return Promise.resolve(allowed ? filter : null);
      },
    });
    await apply(entries('acme', 50));
    expect(await take(feed, 50)).toHaveLength(50);
    expect(rechecks).toBe(0);
    now += 10_000;
    await apply(entries('acme', 50));
    expect(await take(feed, 50)).toHaveLength(50);
    expect(rechecks).toBe(1);
    now += 10_000;
    allowed = false;
    await apply(entries('acme', 1));
    expect(await feed.next()).toEqual({ value: undefined, done: true });
    expect(rechecks).toBe(2);
    expect(hub.subscriberCount).toBe(0);
    // Ended: the hub reads nothing for it any more.
    counting.reset();
    await apply(entries('acme', 1));
    expect(auditReads()).toEqual([]);
  });

  it('a narrowed visibility on re-check files the subscription under its new key and filters what it still holds', async () => {
    let now = 0;
    limits.now = () => now;
    let scope: ListScope = { all: true };
    const feed = follow('acme', {}, null, { recheck: () => Promise.resolve(feedFilter({}, scope)) });
    expect(feed.key).toBeNull();
    const before = [entry('acme', { namespace: 'team' }), entry('acme', { namespace: 'other' })];
    await apply(before);
    scope = { all: false, namespaces: ['team'] };
    now += 10_000;
    const after = [entry('acme', { namespace: 'other' }), entry('acme', { namespace: 'team.sub' })];
    await apply(after);
    // Both batches were queued under the old scope; only what the new scope sees is delivered.
    expect(await take(feed, 2)).toEqual([before[0]?.position, after[1]?.position]);
    expect(feed.key).toBe('n:team');
    const last = [entry('acme', { namespace: 'other' }), entry('acme', { namespace: 'team' })];
    await apply(last);
    expect(await take(feed, 1)).toEqual([last[1]?.position]);
  });

  it('follows a switch to a new generation that lags behind: no gap, no duplicate, catch-up reads where the entries are', async () => {
    const feed = follow('acme', {}, 0);
    const a = entries('acme', 30);
    await apply(a);
    // The rebuilt generation has applied up to 20 when it starts serving; the old one had 30.
    const rebuilt = new Generation(counting.wrap(new MemoryDocumentStore()), 'v2_g1');
    await rebuilt.apply(a.slice(0, 20));
    current = rebuilt;
    generation.stop();
    // A subscriber arriving now resumes from 10: up to 30 is read from the old generation (the new one has 20).
    const late = follow('acme', {}, a[9]?.position ?? 0);
    const lateFirst = await late.next();
    await rebuilt.apply(a.slice(20));
    const b = entries('acme', 10);
    await apply(b, rebuilt);
    expect(await take(feed, 40)).toEqual(positionsOf([...a, ...b]));
    expect([Number(lateFirst.value?.position), ...(await take(late, 29))]).toEqual(positionsOf([...a.slice(10), ...b]));
    expect(hub.dispatchedPosition).toBe(b.at(-1)?.position);
  });

  it('a failed read ends the subscriptions of that tenant with the error; others go on', async () => {
    const acme = follow('acme', {});
    const other = follow('other', {});
    counting.gate = (call) => {
      if (call.method === 'find' && call.filter?.['tenantId'] === 'acme') throw new Error('store down');
    };
    const first = entries('other', 1);
    await apply([...entries('acme', 1), ...first]);
    await expect(acme.next()).rejects.toThrow('store down');
    expect(await acme.next()).toEqual({ value: undefined, done: true });
    counting.gate = null;
    const docs = entries('other', 2);
    await apply([...entries('acme', 1), ...docs]);
    expect(await take(other, 3)).toEqual(positionsOf([...first, ...docs]));
    expect(hub.subscriberCount).toBe(1);
  });
});
