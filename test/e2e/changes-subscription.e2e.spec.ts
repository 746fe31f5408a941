/**
 * `changes`: the live change feed of every tenant member, on a real gateway
 * over real WebSockets. A user with only FLOW:VIEW on a namespace (no audit
 * rights) follows its flows and nothing else, whatever filter, endpoint or
 * header it tries; a restore done while it was disconnected arrives when it
 * resumes (kestra#18684); a revoked grant stops delivery; and the feed rides
 * on the audit hub: one audit-log read per event, however many follow.
 */
import { readFileSync } from 'node:fs';
import { buildSchema, isObjectType } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Caller } from '../../src/application/caller.js';
import type { ChangeView } from '../../src/application/changes.js';
import { AUDIT_LOGS } from '../../src/projections/audit/audit.projection.js';
import { systemCaller } from '../../src/server/start.js';
import { bind, createTenant, createUserWithToken, flowSource } from '../support/access.js';
import { CountingStore } from '../support/counting-store.js';
import { ADMIN_TOKEN, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { eventually } from '../support/eventually.js';

type Change = Omit<ChangeView, 'occurredAt'>;

const SUBSCRIPTION = `subscription($filter: ChangeFilter, $after: Position) {
  changes(filter: $filter, afterPosition: $after) { position resourceType resourceId namespace kind revision }
}`;

const SECRET_VALUE = 's3cr3t-value-never-sent';

const settle = (ms = 300) => new Promise((resolve) => setTimeout(resolve, ms));

interface Subscribed {
  received: Change[];
  /** Every message as it came over the wire, to look for what must never be in one. */
  raw: string[];
  errors: { message: string; extensions?: Record<string, unknown> }[];
  ended: Promise<void>;
  until(count: number): Promise<Change[]>;
}

interface Endpoint {
  tenant: string | null;
  token: string;
  headers?: Record<string, string>;
}

describe('changes: a live change feed for every user (graphql-ws)', () => {
  let gw: TestGateway;
  const clients: Client[] = [];
  let dev: string;

  const connect = ({ tenant, token, headers }: Endpoint): Client => {
    // A WebSocket whose upgrade request carries extra headers (X-Tenant-Id), as a non-browser client may send.
    class WithHeaders extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { headers: headers ?? {} });
      }
    }
    const client = createClient({
      url: `${gw.url.replace(/^http/, 'ws')}/api/v1/${tenant ? `${tenant}/` : ''}graphql`,
      webSocketImpl: WithHeaders,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
    });
    clients.push(client);
    return client;
  };

  const subscribe = (client: Client, variables: Record<string, unknown>, query = SUBSCRIPTION): Subscribed => {
    const received: Change[] = [];
    const raw: string[] = [];
    const errors: Subscribed['errors'] = [];
    const iterator = client.iterate<{ changes: Change }>({ query, variables });
    const ended = (async () => {
      try {
        for await (const result of iterator) {
          raw.push(JSON.stringify(result));
          if (result.errors) errors.push(...(result.errors as Subscribed['errors']));
          else if (result.data) received.push(result.data.changes);
        }
      } catch (error) {
        errors.push({ message: String((error as { reason?: string; code?: number }).code ?? error) });
      }
    })();
    return {
      received,
      raw,
      errors,
      ended,
      until: (count) =>
        eventually(() => (received.length >= count ? received.slice() : undefined), `${count} changes (got ${received.length})`),
    };
  };

  const as = (token: string, tenant: string | null = 'acme', headers?: Record<string, string>) => connect({ tenant, token, headers });

  const admin = async (tenant: string, query: string, variables: Record<string, unknown> = {}) =>
    expectData(await gw.gql<Record<string, { revision?: number }>>(query, variables, { tenant }));

  const createFlow = (tenant: string, namespace: string, id: string) =>
    admin(tenant, `mutation($s: String!) { createFlow(source: $s) { id revision } }`, { s: flowSource(namespace, id) });
  const updateFlow = (tenant: string, namespace: string, id: string, message: string) =>
    admin(tenant, `mutation($ns: String!, $id: ID!, $s: String!) { updateFlow(namespace: $ns, id: $id, source: $s) { id revision } }`, {
      ns: namespace,
      id,
      s: flowSource(namespace, id).replace('message: hi', `message: ${message}`),
    });
  const createNamespace = (tenant: string, id: string) =>
    admin(tenant, `mutation($id: ID!) { createNamespace(input: {id: $id}) { id } }`, { id });

  /** Everything settled: the hub has offered every event written so far to every feed. */
  const dispatched = async () => gw.services.audit.hub.settled(await gw.eventCount());

  beforeAll(async () => {
    // The session watch (every 2 s by default) would race the hub's own re-check that the revocation test isolates.
    gw = await startTestGateway({ env: { TENANTRY_SESSION_RECHECK_MS: '60000' } });
    await createTenant(gw, 'acme');
    await createTenant(gw, 'beta');
    for (const tenant of ['acme', 'beta']) {
      for (const ns of ['company', 'company.team', 'company.team.sub', 'company.other', 'company.teammate'])
        await createNamespace(tenant, ns);
      await admin(
        tenant,
        `mutation { createRole(input: {id: "flow-viewer", permissions: [{resource: "FLOW", actions: ["VIEW"]}]}) { id } }`,
      );
    }
    dev = await createUserWithToken(gw, 'dev');
    await bind(gw, 'acme', { principalType: 'USER', principalId: 'dev', roleId: 'flow-viewer', namespace: 'company.team' });
  });

  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await gw.dispose();
  });

  it('has no field that could carry a secret value, an actor or request details', () => {
    const schema = buildSchema(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8'));
    const change = schema.getType('Change');
    expect(isObjectType(change)).toBe(true);
    expect(Object.keys(isObjectType(change) ? change.getFields() : {}).sort()).toEqual(
      ['kind', 'namespace', 'occurredAt', 'position', 'resourceId', 'resourceType', 'revision'].sort(),
    );
  });

  it('a user with only FLOW:VIEW on company.team, no audit rights, gets its flows changes and nothing else', async () => {
    // No audit rights: the audit feed is refused to it.
    const audit = subscribe(as(dev), {}, `subscription { auditLogAppended { position } }`);
    await audit.ended;
    expect(audit.errors[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', permission: 'AUDITLOG:LIST' });

    const after = String(await gw.eventCount());
    const all = subscribe(as(dev), { after });
    const parent = subscribe(as(dev), { after, filter: { namespace: 'company' } });
    // Adversarial: asking for what it may not view, by namespace, by id, by type.
    const otherNamespace = subscribe(as(dev), { after, filter: { namespace: 'company.other' } });
    const otherId = subscribe(as(dev), { after, filter: { resourceId: 'company.other.f' } });
    const otherTypes = subscribe(as(dev), {
      after,
      filter: { resourceTypes: ['SECRET', 'NAMESPACE', 'ROLE', 'BINDING', 'GROUP', 'SERVICE_ACCOUNT'] },
    });
    // Another tenant's data through the path of its own tenant and the X-Tenant-Id header of another.
    const headerOverride = subscribe(as(dev, 'acme', { 'x-tenant-id': 'beta' }), { after });
    // The header is honoured where no path names a tenant (so the refusal of beta by header below is a refusal, not an ignored header).
    const viaHeader = subscribe(as(dev, null, { 'x-tenant-id': 'acme' }), { after });
    // The admin follows everything, to show that what dev does not get was written (and what a secret change carries).
    const everything = subscribe(as(ADMIN_TOKEN), { after });

    await createFlow('acme', 'company.other', 'f');
    await createFlow('acme', 'company.teammate', 'f');
    await createFlow('acme', 'company.team', 'f');
    await admin('acme', `mutation($v: String!) { putSecret(input: {namespace: "company.team", key: "KEY", value: $v}) { key } }`, {
      v: SECRET_VALUE,
    });
    await createNamespace('acme', 'company.team.new');
    await admin('acme', `mutation { createRole(input: {id: "other-role", permissions: [{resource: "FLOW", actions: ["LIST"]}]}) { id } }`);
    await updateFlow('acme', 'company.team', 'f', 'two');
    await createFlow('acme', 'company.team.sub', 'g');
    await admin('acme', `mutation { deleteFlow(namespace: "company.other", id: "f") { id } }`);
    await createFlow('beta', 'company.team', 'f');
    await createFlow('beta', 'company.team', 'beta-only');
    await dispatched();

    const expected = [
      { resourceType: 'FLOW', resourceId: 'company.team.f', namespace: 'company.team', kind: 'CREATED', revision: 1 },
      { resourceType: 'FLOW', resourceId: 'company.team.f', namespace: 'company.team', kind: 'UPDATED', revision: 2 },
      { resourceType: 'FLOW', resourceId: 'company.team.sub.g', namespace: 'company.team.sub', kind: 'CREATED', revision: 1 },
    ];
    const strip = (changes: Change[]) => changes.map(({ position: _position, ...rest }) => rest);
    expect(strip(await all.until(3))).toEqual(expected);
    expect(strip(await parent.until(3))).toEqual(expected);
    expect(strip(await headerOverride.until(3))).toEqual(expected);
    expect(strip(await viaHeader.until(3))).toEqual(expected);
    const seen = await everything.until(9);
    expect(seen.map((c) => [c.resourceType, c.resourceId, c.kind])).toEqual([
      ['FLOW', 'company.other.f', 'CREATED'],
      ['FLOW', 'company.teammate.f', 'CREATED'],
      ['FLOW', 'company.team.f', 'CREATED'],
      ['SECRET', 'company.team/KEY', 'CREATED'],
      ['NAMESPACE', 'company.team.new', 'CREATED'],
      ['ROLE', 'other-role', 'CREATED'],
      ['FLOW', 'company.team.f', 'UPDATED'],
      ['FLOW', 'company.team.sub.g', 'CREATED'],
      ['FLOW', 'company.other.f', 'DELETED'],
    ]);
    await settle();
    for (const feed of [all, parent, headerOverride, viaHeader]) {
      expect(feed.received).toHaveLength(3);
      expect(feed.errors).toEqual([]);
    }
    for (const feed of [otherNamespace, otherId, otherTypes]) {
      expect(feed.received).toEqual([]);
      expect(feed.errors).toEqual([]);
    }
    // A secret change names the secret; its value is in no message to anyone.
    expect(seen.find((c) => c.resourceType === 'SECRET')).toMatchObject({ namespace: 'company.team', revision: null });
    for (const feed of [all, parent, headerOverride, viaHeader, otherNamespace, otherId, otherTypes, everything]) {
      expect(feed.raw.join('\n')).not.toContain(SECRET_VALUE);
    }
  });

  it('refuses another tenant by endpoint and by header on the instance endpoint', async () => {
    const byPath = subscribe(as(dev, 'beta'), {});
    await byPath.ended;
    expect(byPath.errors[0]?.extensions?.['code']).toBe('TENANT_NOT_FOUND');
    const byHeader = subscribe(as(dev, null, { 'x-tenant-id': 'beta' }), {});
    await byHeader.ended;
    expect(byHeader.errors[0]?.extensions?.['code']).toBe('TENANT_NOT_FOUND');
    const noTenant = subscribe(as(dev, null), {});
    await noTenant.ended;
    expect(noTenant.errors[0]?.extensions?.['code']).toBe('TENANT_NOT_FOUND');
    for (const feed of [byPath, byHeader, noTenant]) expect(feed.received).toEqual([]);
  });

  it('resumes from a position: a flow revision restored while disconnected arrives after reconnecting (kestra#18684)', async () => {
    const start = String(await gw.eventCount());
    const first = as(dev);
    const before = subscribe(first, { after: start });
    await createFlow('acme', 'company.team', 'rev');
    await updateFlow('acme', 'company.team', 'rev', 'second');
    const seen = await before.until(2);
    expect(seen.map((c) => [c.kind, c.revision])).toEqual([
      ['CREATED', 1],
      ['UPDATED', 2],
    ]);
    await first.dispose();
    await before.ended;

    // While the revision tab is closed: revision 1 restored, then the flow deleted and brought back; and noise it may not see.
    const restored = await admin(
      'acme',
      `mutation { restoreFlowRevision(namespace: "company.team", id: "rev", revision: 1) { revision } }`,
    );
    expect(restored['restoreFlowRevision']?.revision).toBe(3);
    await createFlow('acme', 'company.other', 'noise');
    await admin('acme', `mutation { deleteFlow(namespace: "company.team", id: "rev") { id } }`);
    const back = await admin('acme', `mutation { restoreFlow(namespace: "company.team", id: "rev") { revision } }`);

    const resumed = subscribe(as(dev), { after: seen.at(-1)?.position });
    const missed = await resumed.until(3);
    expect(missed.map((c) => [c.resourceId, c.kind, c.revision])).toEqual([
      ['company.team.rev', 'UPDATED', 3],
      ['company.team.rev', 'DELETED', null],
      ['company.team.rev', 'RESTORED', back['restoreFlow']?.revision],
    ]);
    // Then live, with nothing repeated and nothing skipped.
    await updateFlow('acme', 'company.team', 'rev', 'live');
    const all = await resumed.until(4);
    expect(all.at(-1)).toMatchObject({ resourceId: 'company.team.rev', kind: 'UPDATED' });
    await settle();
    expect(resumed.received).toHaveLength(4);
    const positions = [...seen, ...resumed.received].map((c) => Number(c.position));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(new Set(positions).size).toBe(positions.length);
  });

  it('a revoked grant stops delivery at the next re-check; losing every grant ends the feed', async () => {
    const hub = gw.services.audit.hub;
    const realNow = hub.limits.now;
    let now = Date.now();
    hub.limits.now = () => now;
    try {
      const token = await createUserWithToken(gw, 'ops');
      await bind(gw, 'acme', { principalType: 'USER', principalId: 'ops', roleId: 'flow-viewer', namespace: 'company.team' });
      const other = await bind(gw, 'acme', {
        principalType: 'USER',
        principalId: 'ops',
        roleId: 'flow-viewer',
        namespace: 'company.other',
      });
      const feed = subscribe(as(token), { after: String(await gw.eventCount()) });
      await createFlow('acme', 'company.other', 'r1');
      await createFlow('acme', 'company.team', 'r1');
      expect((await feed.until(2)).map((c) => c.resourceId)).toEqual(['company.other.r1', 'company.team.r1']);

      expectData(await gw.gql(`mutation($id: ID!) { deleteBinding(id: $id) }`, { id: other }, { tenant: 'acme' }));
      now += 10_000;
      await createFlow('acme', 'company.other', 'r2');
      await createFlow('acme', 'company.team', 'r2');
      await dispatched();
      expect((await feed.until(3)).map((c) => c.resourceId)).toEqual(['company.other.r1', 'company.team.r1', 'company.team.r2']);

      // The last grant goes: it can view nothing any more, and the feed ends.
      const bindings = expectData(
        await gw.gql<{ bindings: { id: string; principalId: string }[] }>(
          `{ bindings(principalId: "ops") { id principalId } }`,
          {},
          {
            tenant: 'acme',
          },
        ),
      ).bindings;
      for (const b of bindings) expectData(await gw.gql(`mutation($id: ID!) { deleteBinding(id: $id) }`, { id: b.id }, { tenant: 'acme' }));
      now += 10_000;
      await createFlow('acme', 'company.team', 'r3');
      await feed.ended;
      await settle();
      expect(feed.received.map((c) => c.resourceId)).toEqual(['company.other.r1', 'company.team.r1', 'company.team.r2']);
      expect(feed.errors).toEqual([]);
    } finally {
      hub.limits.now = realNow;
    }
  });
});

describe('changes fan-out: one audit-log read per event, whatever the number of subscribers', () => {
  const counting = new CountingStore();
  let gw: TestGateway;
  let n = 0;

  beforeAll(async () => {
    gw = await startTestGateway({ wrapDocuments: counting.wrap, env: { TENANTRY_SESSION_RECHECK_MS: '60000' } });
    await createTenant(gw, 'acme');
    await createTenant(gw, 'quiet');
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "team"}) { id } }`, {}, { tenant: 'acme' }));
    expectData(
      await gw.gql(
        `mutation { createRole(input: {id: "flow-viewer", permissions: [{resource: "FLOW", actions: ["VIEW"]}]}) { id } }`,
        {},
        { tenant: 'acme' },
      ),
    );
    await createUserWithToken(gw, 'viewer');
    await bind(gw, 'acme', { principalType: 'USER', principalId: 'viewer', roleId: 'flow-viewer', namespace: 'team' });
  });
  afterAll(async () => {
    await gw.dispose();
  });

  const viewer = () => new Caller({ type: 'USER', id: 'viewer', instanceAdmin: false, via: 'api-token' }, gw.app.authorizer);

  /** `count` feeds that each consume what they get (half of them a flow viewer's, half the system's), as graphql-ws drives them. */
  const follow = async (count: number) => {
    const got: ChangeView[][] = [];
    const feeds = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const caller = i % 2 === 0 ? viewer() : systemCaller(gw.app);
        const feed = await gw.services.changes.follow(caller, 'acme', i % 4 === 1 ? { resourceTypes: ['FLOW'] } : null, null);
        const mine: ChangeView[] = [];
        got.push(mine);
        void (async () => {
          for (let r = await feed.next(); !r.done; r = await feed.next()) mine.push(r.value);
        })();
        return feed;
      }),
    );
    return { feeds, got };
  };

  /** One flow created per mutation (one event), each waited for until dispatched; the audit-log reads it took. */
  const readsFor = async (tenant: string, mutations: number): Promise<number[]> => {
    counting.reset();
    for (let i = 0; i < mutations; i++) {
      expectData(await gw.gql(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: flowSource('team', `f${++n}`) }, { tenant }));
      await gw.services.audit.hub.settled(await gw.eventCount());
    }
    return counting.reads(AUDIT_LOGS).map((c) => c.returned ?? -1);
  };

  it('1, 10 and 100 subscribers, every one receiving every change: one read per event, none in a tenant nobody follows', async () => {
    expect(gw.services.audit.hub.subscriberCount).toBe(0);
    const reads: Record<number, number[]> = {};
    for (const count of [1, 10, 100]) {
      const { feeds, got } = await follow(count);
      reads[count] = await readsFor('acme', 5);
      expect(await readsFor('quiet', 2)).toEqual([]);
      await eventually(() => (got.every((mine) => mine.length === 5) ? true : undefined), 'every feed to get its 5 changes');
      expect(got.every((mine) => mine.every((c) => c.resourceType === 'FLOW' && c.kind === 'CREATED'))).toBe(true);
      for (const feed of feeds) await feed.return();
    }
    expect(reads).toEqual({ 1: [1, 1, 1, 1, 1], 10: [1, 1, 1, 1, 1], 100: [1, 1, 1, 1, 1] });
    expect(gw.services.audit.hub.subscriberCount).toBe(0);
  });
});

describe('changes under the session watch', () => {
  let gw: TestGateway;
  let client: Client | null = null;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { TENANTRY_SESSION_RECHECK_MS: '200' } });
    await createTenant(gw, 'acme');
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "team"}) { id } }`, {}, { tenant: 'acme' }));
  });
  afterAll(async () => {
    await client?.dispose();
    await gw.dispose();
  });

  it('closes the socket with 4403 once the subscriber may view nothing it delivers, even with no change to deliver', async () => {
    const token = await createUserWithToken(gw, 'viewer');
    const binding = await bind(gw, 'acme', { principalType: 'USER', principalId: 'viewer', roleId: 'viewer', namespace: 'team' });
    // A right that stays but shows no change (the tenant still lets it in: only the changes check can end it).
    expectData(
      await gw.gql(
        `mutation { createRole(input: {id: "audit-view", permissions: [{resource: "AUDITLOG", actions: ["VIEW"]}]}) { id } }`,
        {},
        {
          tenant: 'acme',
        },
      ),
    );
    await bind(gw, 'acme', { principalType: 'USER', principalId: 'viewer', roleId: 'audit-view' });
    client = createClient({
      url: `${gw.url.replace(/^http/, 'ws')}/api/v1/acme/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
    });
    const received: unknown[] = [];
    let closed: unknown = null;
    const ended = (async () => {
      try {
        for await (const result of client.iterate({ query: SUBSCRIPTION, variables: {} })) received.push(result);
      } catch (error) {
        closed = error;
      }
    })();
    // Running (a check of its rights passes meanwhile): then the only binding goes.
    await settle(500);
    expect(closed).toBeNull();
    expectData(await gw.gql(`mutation($id: ID!) { deleteBinding(id: $id) }`, { id: binding }, { tenant: 'acme' }));
    await ended;
    expect((closed as { code?: number } | null)?.code).toBe(4403);
    expect(received).toEqual([]);
  });
});
