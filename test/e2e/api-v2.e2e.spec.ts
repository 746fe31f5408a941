/**
 * The v2 API (docs/api-v2.md): global ids, node(id:)/nodes(ids:) and
 * connections, against a real gateway. Adversarial parts: another tenant's
 * ids, ids of what the caller may not see, forged ids.
 */
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { bind, createTenant, createUserWithToken, flowSource } from '../support/access.js';
import { ADMIN_TOKEN, errorCode, expectData, startTestGateway, type GqlOptions, type TestGateway } from '../support/gateway.js';

type Node = { __typename: string; id: string } & Record<string, unknown>;

describe('API v2: global object identification and connections', () => {
  let gw: TestGateway;
  let viewerToken: string;
  const v2 = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, options: GqlOptions = {}) =>
    gw.gql<T>(query, variables, { tenant: 'acme', ...options, api: 'v2' });
  const node = async (id: string, options: GqlOptions = {}) =>
    expectData(await v2<{ node: Node | null }>(`query($id: ID!) { node(id: $id) { __typename id } }`, { id }, options)).node;

  beforeAll(async () => {
    gw = await startTestGateway();
    for (const tenant of ['acme', 'globex']) {
      await createTenant(gw, tenant);
      for (const ns of ['company.team', 'company.ops']) {
        expectData(await gw.gql(`mutation($id: ID!) { createNamespace(input: { id: $id }) { id } }`, { id: ns }, { tenant }));
        expectData(await gw.gql(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: flowSource(ns, 'hello') }, { tenant }));
      }
    }
    expectData(
      await gw.gql(
        `mutation($s: String!) { updateFlow(namespace: "company.team", id: "hello", source: $s) { revision } }`,
        {
          s: `${flowSource('company.team', 'hello')}description: second\n`,
        },
        { tenant: 'acme' },
      ),
    );
    viewerToken = await createUserWithToken(gw, 'vera');
    await bind(gw, 'acme', { principalType: 'USER', principalId: 'vera', roleId: 'viewer', namespace: 'company.team' });
  }, 120_000);
  afterAll(async () => {
    await gw?.dispose();
  });

  it('the same flow id in two namespaces and two tenants has four ids; natural keys stay as fields', async () => {
    const ids = new Set<string>();
    for (const tenant of ['acme', 'globex']) {
      const page = expectData(
        await v2<{ flows: { edges: { node: { id: string; flowId: string; namespace: string; tasks: { taskId: string }[] } }[] } }>(
          `{ flows(first: 10) { edges { node { id flowId namespace tasks { taskId } } } } }`,
          {},
          { tenant },
        ),
      ).flows.edges.map((e) => e.node);
      expect(page.map((f) => [f.flowId, f.namespace])).toEqual([
        ['hello', 'company.ops'],
        ['hello', 'company.team'],
      ]);
      expect(page[0]!.tasks).toEqual([{ taskId: 'hello' }]);
      for (const flow of page) ids.add(flow.id);
    }
    expect(ids.size).toBe(4);
    for (const id of ids) expect(id).not.toContain('hello');
  });

  it('a read at a revision or asOf has an id of its own, and node(id:) reads that version again', async () => {
    const read = expectData(
      await v2<{ current: Node; first: Node & { description: string | null; revision: number } }>(
        `{ current: flow(namespace: "company.team", id: "hello") { id revision }
           first: flow(namespace: "company.team", id: "hello", revision: 1) { id revision description } }`,
      ),
    );
    expect(read.current.id).not.toBe(read.first.id);
    expect(read.current['revision']).toBe(2);
    const again = expectData(
      await v2<{ node: { id: string; revision: number; description: string | null } }>(
        `query($id: ID!) { node(id: $id) { id ... on Flow { revision description } } }`,
        { id: read.first.id },
      ),
    ).node;
    expect(again).toEqual({ id: read.first.id, revision: 1, description: null });
    const asOf = expectData(
      await v2<{ namespace: { id: string }; now: { id: string } }>(
        `query($at: DateTime!) { namespace(id: "company.team", asOf: $at) { id } now: namespace(id: "company.team") { id } }`,
        { at: new Date().toISOString() },
      ),
    );
    expect(asOf.namespace.id).not.toBe(asOf.now.id);
  });

  it('node(id:) refetches every entity type', async () => {
    const made = expectData(
      await v2<Record<string, Node>>(
        `mutation {
          role: createRole(input: { id: "auditor2", permissions: [{ resource: FLOW, actions: [VIEW] }] }) { __typename id }
          group: createGroup(input: { id: "ops" }) { __typename id }
          sa: createServiceAccount(input: { id: "bot" }) { __typename id }
          secret: putSecret(input: { namespace: "company.team", key: "DB_PASSWORD", value: "hunter2" }) { __typename id }
          checkpoint: signAuditCheckpoint { __typename id }
          job: startAuditVerification { __typename id }
        }`,
      ),
    );
    const token = expectData(
      await v2<{ createApiToken: Node & { tokenId: string } }>(
        `mutation { createApiToken(input: { principalId: "bot", name: "ci" }) { __typename id tokenId } }`,
      ),
    ).createApiToken;
    const binding = expectData(
      await v2<{ createBinding: Node }>(
        `mutation { createBinding(input: { principalType: SERVICE_ACCOUNT, principalId: "bot", roleId: "viewer", namespace: "company.ops" }) { __typename id } }`,
      ),
    ).createBinding;
    const reads = expectData(
      await v2<{
        flow: Node & { revisions: { edges: { node: Node }[] } };
        namespace: Node;
        auditLogs: { edges: { node: Node }[] };
        me: Node;
      }>(
        `{ flow(namespace: "company.team", id: "hello") { __typename id revisions(first: 1) { edges { node { __typename id } } } }
           namespace(id: "company.team") { __typename id }
           auditLogs(first: 1) { edges { node { __typename id } } }
           me { __typename id } }`,
      ),
    );
    const instance = expectData(
      await v2<{ tenant: Node; user: Node }>(
        `{ tenant(id: "acme") { __typename id } user(id: "vera") { __typename id } }`,
        {},
        { tenant: null },
      ),
    );
    const all: Node[] = [
      ...Object.values(made),
      { ...token, __typename: 'ApiToken' },
      binding,
      reads.flow,
      reads.flow.revisions.edges[0]!.node,
      reads.namespace,
      reads.auditLogs.edges[0]!.node,
      reads.me,
    ];
    expect(new Set(all.map((n) => n.__typename))).toEqual(
      new Set([
        'Role',
        'Group',
        'ServiceAccount',
        'SecretMetadata',
        'AuditCheckpoint',
        'AuditVerificationJob',
        'ApiToken',
        'Binding',
        'Flow',
        'FlowRevision',
        'Namespace',
        'AuditLogEntry',
        'Me',
      ]),
    );
    for (const entity of all) expect(await node(entity.id)).toEqual({ __typename: entity.__typename, id: entity.id });
    for (const entity of [instance.tenant, instance.user]) {
      expect(await node(entity.id, { tenant: null })).toEqual({ __typename: entity.__typename, id: entity.id });
    }
    const many = expectData(
      await v2<{ nodes: (Node | null)[] }>(`query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`, {
        ids: [reads.flow.id, binding.id],
      }),
    ).nodes;
    expect(many.map((n) => n?.__typename)).toEqual(['Flow', 'Binding']);
    // The secret's row names no value, in any form.
    const secret = await v2(`query($id: ID!) { node(id: $id) { ... on SecretMetadata { key namespace } } }`, { id: made['secret']!.id });
    expect(JSON.stringify(secret)).not.toContain('hunter2');
  });

  it("another tenant's id, an id the caller may not see and a forged id answer nothing", async () => {
    const acme = expectData(await v2<{ flow: Node }>(`{ flow(namespace: "company.ops", id: "hello") { __typename id } }`)).flow;
    const team = expectData(await v2<{ flow: Node }>(`{ flow(namespace: "company.team", id: "hello") { __typename id } }`)).flow;
    // The same id asked on globex's endpoint: globex has a flow with the same natural key, but this id is acme's.
    expect(await node(acme.id, { tenant: 'globex' })).toBeNull();
    // vera may view company.team only.
    expect(await node(acme.id, { token: viewerToken })).toBeNull();
    expect(await node(team.id, { token: viewerToken })).toEqual(team);
    // An id made up by the client is refused, not guessed at.
    const forged = await v2(`{ node(id: "RmxvdzphY21lOmNvbXBhbnkub3BzOmhlbGxv") { id } }`);
    expect(errorCode(forged)).toBe('BAD_USER_INPUT');
    // The cache-key argument `tenant` selects nothing: another tenant's name is refused, not served.
    const otherTenant = await v2(`{ flows(tenant: "globex") { totalCount } }`);
    expect(errorCode(otherTenant)).toBe('BAD_USER_INPUT');
    expect(otherTenant.data?.['flows'] ?? null).toBeNull();
    expect(expectData(await v2<{ flows: { totalCount: number } }>(`{ flows(tenant: "acme") { totalCount } }`)).flows.totalCount).toBe(2);
    const tooMany = await v2(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: Array.from({ length: 101 }, () => team.id) });
    expect(errorCode(tooMany)).toBe('BAD_USER_INPUT');
  });

  it('lists are connections with stable cursors, both directions and totalCount', async () => {
    for (const id of ['r-a', 'r-c', 'r-e']) {
      expectData(
        await v2(`mutation($id: ID!) { createRole(input: { id: $id, permissions: [{ resource: FLOW, actions: [VIEW] }] }) { id } }`, {
          id,
        }),
      );
    }
    type Page = { roles: { totalCount: number; edges: { cursor: string; node: { roleId: string } }[]; pageInfo: Record<string, unknown> } };
    const page = async (args: string) =>
      expectData(
        await v2<Page>(
          `{ roles(${args}) { totalCount edges { cursor node { roleId } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`,
        ),
      ).roles;
    const all = await page('first: 500');
    const custom = all.edges.filter((e) => e.node.roleId.startsWith('r-'));
    expect(custom.map((e) => e.node.roleId)).toEqual(['r-a', 'r-c', 'r-e']);
    expect(all.totalCount).toBe(all.edges.length);
    const afterA = custom[0]!.cursor;
    // Something inserted before the cursor's item does not shift what comes after it.
    expectData(await v2(`mutation { createRole(input: { id: "r-0", permissions: [{ resource: FLOW, actions: [VIEW] }] }) { id } }`));
    const next = await page(`first: 1, after: "${afterA}"`);
    expect(next.edges.map((e) => e.node.roleId)).toEqual(['r-c']);
    expect(next.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const back = await page(`last: 2, before: "${next.edges[0]!.cursor}"`);
    expect(back.edges.map((e) => e.node.roleId)).toEqual(['r-0', 'r-a']);
    expect(back.totalCount).toBe(all.totalCount + 1);
    expect(errorCode(await v2(`{ roles(first: 501) { totalCount } }`))).toBe('BAD_USER_INPUT');
    // Checkpoints are paged in the ledger's store: the newest, then the one before it.
    expectData(await v2(`mutation { signAuditCheckpoint { size } }`));
    type Checkpoints = {
      auditCheckpoints: {
        totalCount: number;
        edges: { node: { size: number } }[];
        pageInfo: { startCursor: string; hasPreviousPage: boolean };
      };
    };
    const newest = expectData(
      await v2<Checkpoints>(
        `{ auditCheckpoints(last: 1) { totalCount edges { node { size } } pageInfo { startCursor hasPreviousPage } } }`,
      ),
    ).auditCheckpoints;
    expect(newest.totalCount).toBeGreaterThanOrEqual(2);
    expect(newest.pageInfo.hasPreviousPage).toBe(true);
    const before = expectData(
      await v2<Checkpoints>(`query($c: String) { auditCheckpoints(last: 1, before: $c) { edges { node { size } } } }`, {
        c: newest.pageInfo.startCursor,
      }),
    ).auditCheckpoints;
    expect(before.edges[0]!.node.size).toBeLessThan(newest.edges[0]!.node.size);
    expect(errorCode(await v2(`{ roles(after: "nonsense") { totalCount } }`))).toBe('BAD_USER_INPUT');
  });

  it("a flow's revisions are a connection over revision numbers", async () => {
    const read = expectData(
      await v2<{
        flow: {
          revisions: { totalCount: number; edges: { cursor: string; node: { revision: number } }[]; pageInfo: Record<string, unknown> };
        };
      }>(
        `{ flow(namespace: "company.team", id: "hello") { revisions(first: 1) { totalCount edges { cursor node { revision } } pageInfo { hasNextPage hasPreviousPage } } } }`,
      ),
    ).flow.revisions;
    expect(read.totalCount).toBe(2);
    expect(read.edges.map((e) => e.node.revision)).toEqual([1]);
    expect(read.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false });
    const next = expectData(
      await v2<{ flow: { revisions: { edges: { node: { revision: number } }[]; pageInfo: Record<string, unknown> } } }>(
        `query($after: String) { flow(namespace: "company.team", id: "hello") { revisions(first: 5, after: $after) { edges { node { revision } } pageInfo { hasNextPage hasPreviousPage } } } }`,
        { after: read.edges[0]!.cursor },
      ),
    ).flow.revisions;
    expect(next.edges.map((e) => e.node.revision)).toEqual([2]);
    expect(next.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true });
  });

  it('subscriptions on /api/v2 speak v2: entries with global ids that node(id:) reads again', async () => {
    const socket = (api: 'v1' | 'v2') =>
      createClient({
        url: `${gw.url.replace(/^http/, 'ws')}/api/${api}/acme/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` },
        retryAttempts: 0,
      });
    const v2Socket = socket('v2');
    const v1Socket = socket('v1');
    try {
      const after = String(await gw.app.events.headPosition());
      const received: { id: string; entryId: string; resourceId: string }[] = [];
      const iterator = v2Socket.iterate<{ auditLogAppended: { id: string; entryId: string; resourceId: string } }>({
        query: `subscription($after: Position) { auditLogAppended(afterPosition: $after) { id entryId resourceId } }`,
        variables: { after },
      });
      expectData(await v2(`mutation { createNamespace(input: { id: "company.live" }) { id } }`));
      for await (const result of iterator) {
        if (result.data) received.push(result.data.auditLogAppended);
        if (received.length > 0 || result.errors) break;
      }
      expect(received[0]?.resourceId).toBe('company.live');
      expect(await node(received[0]!.id)).toEqual({ __typename: 'AuditLogEntry', id: received[0]!.id });
      // The change feed names the changed entity by the id a cache holds it under.
      const changes = v2Socket.iterate<{ changes: { resourceType: string; nodeId: string | null } }>({
        query: `subscription($after: Position) { changes(afterPosition: $after) { resourceType nodeId } }`,
        variables: { after },
      });
      const change = (await changes.next()).value as { data?: { changes: { resourceType: string; nodeId: string | null } } };
      await changes.return?.();
      const live = expectData(await v2<{ namespace: { id: string } }>(`{ namespace(id: "company.live") { id } }`)).namespace;
      expect(change.data?.changes).toEqual({ resourceType: 'NAMESPACE', nodeId: live.id });
      // The same document on v1's socket: v1 has no entryId.
      const v1 = v1Socket.iterate({ query: `subscription { auditLogAppended { entryId } }` });
      const refused = await v1.next().then(
        (value) => JSON.stringify(value),
        (error: unknown) => JSON.stringify(error) + String(error),
      );
      expect(refused).toMatch(/Cannot query field \\?"entryId/);
    } finally {
      await v2Socket.dispose();
      await v1Socket.dispose();
    }
  });

  it('v1 is unchanged: id is the natural key there', async () => {
    const flow = expectData(
      await gw.gql<{ flow: { id: string } }>(`{ flow(namespace: "company.team", id: "hello") { id } }`, {}, { tenant: 'acme' }),
    ).flow;
    expect(flow.id).toBe('hello');
  });
});
