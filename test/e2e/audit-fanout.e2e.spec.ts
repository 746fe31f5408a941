/**
 * Live audit fan-out on a real gateway (memory or MongoDB read models): what
 * `auditLogAppended` costs the store, counted, never timed. Idle
 * subscriptions add no reads, however many; history length adds none; a
 * matching subscriber among many gets exactly its entries; resuming crosses
 * pages; a blue/green rebuild of the audit read model and a standby replica
 * lose nothing; a subscriber that loses AUDITLOG:LIST is ended.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditLogFilterInput } from '../../src/application/audit-criteria.js';
import type { AuditFeed } from '../../src/application/audit-feed.js';
import { AUDIT_LOGS } from '../../src/projections/audit/audit.projection.js';
import { systemCaller } from '../../src/server/start.js';
import { bind, createTenant, createUserWithToken } from '../support/access.js';
import { CountingStore } from '../support/counting-store.js';
import { ADMIN_TOKEN, expectData, startTestGateway, testReadModels, type TestGateway } from '../support/gateway.js';
import { eventually } from '../support/eventually.js';

interface Entry {
  position: string;
  resourceId: string;
  action: string;
}

const SUBSCRIPTION = `subscription($filter: AuditLogFilter, $after: Position) {
  auditLogAppended(filter: $filter, afterPosition: $after) { position resourceId action }
}`;

/** Filters that match nothing written here: one of each routing kind, and two without a key. */
const NOTHING: AuditLogFilterInput[] = [
  { resourceId: 'ghost' },
  { actorId: 'ghost' },
  { resourceType: 'GHOST' },
  { action: 'HAUNT' },
  { namespace: 'nowhere' },
  { from: new Date('2100-01-01') },
  { to: new Date('2000-01-01') },
];

interface Subscribed {
  received: Entry[];
  errors: unknown[];
  ended: Promise<void>;
  until(count: number): Promise<Entry[]>;
}

function subscribe(
  gw: TestGateway,
  clients: Client[],
  tenant: string,
  variables: Record<string, unknown>,
  token = ADMIN_TOKEN,
): Subscribed {
  const client = createClient({
    url: `${gw.url.replace(/^http/, 'ws')}/api/v1/${tenant}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  clients.push(client);
  const received: Entry[] = [];
  const errors: unknown[] = [];
  const iterator = client.iterate<{ auditLogAppended: Entry }>({ query: SUBSCRIPTION, variables });
  const ended = (async () => {
    try {
      for await (const result of iterator) {
        if (result.errors) errors.push(...result.errors);
        else if (result.data) received.push(result.data.auditLogAppended);
      }
    } catch (error) {
      errors.push(error);
    }
  })();
  return {
    received,
    errors,
    ended,
    until: (count) =>
      eventually(() => (received.length >= count ? received.slice() : undefined), `${count} entries (got ${received.length})`),
  };
}

/**
 * Entries of history. FerretDB (MongoDB over SQLite) slows down as the test
 * database fills: 600 entries there (still more than one page of 500),
 * 3,000 on the memory store.
 */
const HISTORY = testReadModels() === 'mongodb' ? 600 : 3000;

describe('audit fan-out: store reads per mutation do not grow with subscriptions or history', () => {
  const counting = new CountingStore();
  let gw: TestGateway;
  const clients: Client[] = [];
  let n = 0;

  beforeAll(async () => {
    // The session watch (every 2 s by default) would race the hub's own re-check that the last test isolates.
    gw = await startTestGateway({ wrapDocuments: counting.wrap, env: { TENANTRY_SESSION_RECHECK_MS: '60000' } });
    for (const tenant of ['acme', 'fresh', 'big', 'quiet']) await createTenant(gw, tenant);
  });
  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await gw.dispose();
  });

  /** A subscription as graphql-ws drives it: always one next() waiting. */
  const follow = async (tenant: string, filter: AuditLogFilterInput, after: number | null = null): Promise<AuditFeed> => {
    const feed = await gw.services.audit.follow(systemCaller(gw.app), tenant, filter, after);
    void (async () => {
      while (!(await feed.next()).done);
    })();
    return feed;
  };

  /** One mutation (one event), then until every subscription was offered its entry. */
  const mutate = async (tenant: string, namespace = `ns${++n}`): Promise<void> => {
    expectData(await gw.gql(`mutation($id: ID!) { createNamespace(input: {id: $id}) { id } }`, { id: namespace }, { tenant }));
    await gw.services.audit.hub.settled(await gw.eventCount());
  };

  /** Reads of the audit log made while `mutations` mutations run (each waits until dispatched). */
  const auditReadsFor = async (tenant: string, mutations: number): Promise<number[]> => {
    counting.reset();
    for (let i = 0; i < mutations; i++) await mutate(tenant);
    return counting.reads(AUDIT_LOGS).map((c) => c.returned ?? -1);
  };

  it('1, 10 and 100 idle subscriptions: one audit-log read per mutation, returning just its entry; none without subscribers', async () => {
    expect(await auditReadsFor('acme', 3)).toEqual([]);
    const reads: Record<number, number[]> = {};
    for (const count of [1, 10, 100]) {
      const idle = await Promise.all(Array.from({ length: count }, (_, i) => follow('acme', NOTHING[i % NOTHING.length] ?? {})));
      reads[count] = await auditReadsFor('acme', 5);
      // Mutations in a tenant nobody follows are not read at all.
      expect(await auditReadsFor('quiet', 3)).toEqual([]);
      expect(idle.every((feed) => feed.held === 0)).toBe(true);
      for (const feed of idle) await feed.return();
    }
    expect(reads).toEqual({ 1: [1, 1, 1, 1, 1], 10: [1, 1, 1, 1, 1], 100: [1, 1, 1, 1, 1] });
    expect(gw.services.audit.hub.subscriberCount).toBe(0);
    expect(await auditReadsFor('acme', 3)).toEqual([]);
  });

  it(`the same reads in a tenant with no history and in one with ${HISTORY} entries`, { timeout: 180_000 }, async () => {
    const start = await gw.eventCount();
    for (let i = 0; i < HISTORY; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, k) => gw.services.namespaces.create(systemCaller(gw.app), 'big', { id: `history.n${i + k}` })),
      );
    }
    expect(await gw.services.audit.entries('big').countDocuments({ position: { $gt: start } })).toBe(HISTORY);
    const reads: Record<string, number[]> = {};
    for (const tenant of ['fresh', 'big']) {
      const idle = await Promise.all(Array.from({ length: 10 }, (_, i) => follow(tenant, NOTHING[i % NOTHING.length] ?? {})));
      reads[tenant] = await auditReadsFor(tenant, 5);
      for (const feed of idle) await feed.return();
    }
    expect(reads).toEqual({ fresh: [1, 1, 1, 1, 1], big: [1, 1, 1, 1, 1] });

    // Resuming across pages (500 entries each) over WebSocket: all of them, in order, then live ones.
    const positions = (
      await gw.services.audit
        .entries('big')
        .find({ position: { $gt: start }, namespace: { $regex: '^history\\.' } }, { sort: { position: 1 } })
    ).map((d) => String(d.position));
    const resumed = subscribe(gw, clients, 'big', { after: String(start), filter: { namespace: 'history' } });
    expect((await resumed.until(HISTORY)).map((e) => e.position)).toEqual(positions);
    await mutate('big', 'history.live');
    expect((await resumed.until(HISTORY + 1)).at(-1)?.resourceId).toBe('history.live');
    expect(resumed.errors).toEqual([]);
  });

  it('a matching subscriber among 100 that match nothing receives exactly its entries', async () => {
    const idle = await Promise.all(Array.from({ length: 100 }, (_, i) => follow('acme', NOTHING[i % NOTHING.length] ?? {})));
    const start = await gw.eventCount();
    const registered = gw.services.audit.hub.subscriberCount;
    const matching = subscribe(gw, clients, 'acme', { after: String(start), filter: { namespace: 'wanted' } });
    // Counted from once it registered (its own catch-up reads are not the fan-out's).
    await eventually(() => (gw.services.audit.hub.subscriberCount > registered ? true : undefined), 'the subscription to register');
    const wanted: string[] = [];
    counting.reset();
    for (let i = 0; i < 10; i++) {
      await mutate('acme', `wanted.n${i}`);
      wanted.push(`wanted.n${i}`);
      await mutate('acme', `unwanted.n${i}`);
    }
    expect((await matching.until(10)).map((e) => e.resourceId)).toEqual(wanted);
    expect(counting.reads(AUDIT_LOGS).map((c) => c.returned)).toEqual(Array.from({ length: 20 }, () => 1));
    await mutate('acme', 'wanted.last');
    expect((await matching.until(11)).map((e) => e.resourceId)).toEqual([...wanted, 'wanted.last']);
    expect(idle.every((feed) => feed.held === 0)).toBe(true);
    for (const feed of idle) await feed.return();
  });

  it('a blue/green rebuild of the audit read model under a live subscription: no gap, no duplicate', { timeout: 120_000 }, async () => {
    const start = await gw.eventCount();
    const live = subscribe(gw, clients, 'acme', { after: String(start), filter: { namespace: 'bg' } });
    const written: string[] = [];
    const write = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i++) {
        expectData(await gw.gql(`mutation($id: ID!) { createNamespace(input: {id: $id}) { id } }`, { id: `bg.n${i}` }, { tenant: 'acme' }));
        written.push(`bg.n${i}`);
      }
    };
    const servingBefore = gw.app.projections.servingTarget('auditLogs');
    // Writes before, during and after the switch.
    await write(0, 5);
    const [rebuilt] = await Promise.all([gw.app.projections.rebuild('auditLogs', { batchSize: 200 }), write(5, 25)]);
    expect(rebuilt.completed).toBe(true);
    expect(gw.app.projections.servingTarget('auditLogs')).not.toBe(servingBefore);
    await write(25, 35);
    const got = await live.until(written.length);
    expect(got.map((e) => e.resourceId)).toEqual(written);
    const stored = await gw.services.audit
      .entries('acme')
      .find({ position: { $gt: start }, namespace: { $regex: '^bg\\.' } }, { sort: { position: 1 } });
    expect(got.map((e) => e.position)).toEqual(stored.map((d) => String(d.position)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(live.received).toHaveLength(written.length);
    expect(live.errors).toEqual([]);
  });

  it('a subscriber that loses AUDITLOG:LIST is ended at its next delivery after the re-check interval', async () => {
    const hub = gw.services.audit.hub;
    const realNow = hub.limits.now;
    let now = Date.now();
    hub.limits.now = () => now;
    try {
      const token = await createUserWithToken(gw, 'auditor');
      const binding = await bind(gw, 'acme', { principalType: 'USER', principalId: 'auditor', roleId: 'admin' });
      const start = await gw.eventCount();
      const feed = subscribe(gw, clients, 'acme', { after: String(start), filter: { namespace: 'rights' } }, token);
      await mutate('acme', 'rights.a');
      expect((await feed.until(1)).map((e) => e.resourceId)).toEqual(['rights.a']);
      expectData(await gw.gql(`mutation($id: ID!) { deleteBinding(id: $id) }`, { id: binding }, { tenant: 'acme' }));
      // Within the interval it is not re-checked: still delivered.
      await mutate('acme', 'rights.b');
      expect((await feed.until(2)).map((e) => e.resourceId)).toEqual(['rights.a', 'rights.b']);
      now += 10_000;
      await mutate('acme', 'rights.c');
      await feed.ended;
      expect(feed.received.map((e) => e.resourceId)).toEqual(['rights.a', 'rights.b']);
      expect(feed.errors).toEqual([]);
    } finally {
      hub.limits.now = realNow;
    }
  });
});

describe.skipIf(testReadModels() !== 'mongodb')('audit fan-out on a standby replica (MongoDB read models, projector off)', () => {
  let projector: TestGateway;
  let follower: TestGateway;
  const clients: Client[] = [];

  beforeAll(async () => {
    projector = await startTestGateway();
    await createTenant(projector, 'acme');
    follower = await startTestGateway({
      dataDir: projector.dataDir,
      env: { TENANTRY_MONGODB_DB: projector.config.mongoDb, TENANTRY_PROJECTOR: 'off' },
    });
  });
  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await follower.stop();
    await projector.dispose();
  });

  it('follows the shared checkpoint and delivers exactly what the other replica applied', async () => {
    expect(follower.app.projections.runner('auditLogs').status().role).toBe('standby');
    const start = await projector.eventCount();
    const live = subscribe(follower, clients, 'acme', { after: String(start) });
    const written: string[] = [];
    for (let i = 0; i < 12; i++) {
      expectData(
        await projector.gql(`mutation($id: ID!) { createNamespace(input: {id: $id}) { id } }`, { id: `replica.n${i}` }, { tenant: 'acme' }),
      );
      written.push(`replica.n${i}`);
    }
    expect((await live.until(written.length)).map((e) => e.resourceId)).toEqual(written);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(live.received).toHaveLength(written.length);
    expect(live.errors).toEqual([]);
  });
});
