import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, errorCode, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { flowSource } from '../support/access.js';

interface Permission {
  resource: string;
  actions: string[];
}

/** Issue 21: permissions that mean what they say; flows named without ambiguity; a correlation id on every error. */
describe('permissions, audit flow ids and correlation ids', () => {
  let gw: TestGateway;
  const clients: Client[] = [];

  beforeAll(async () => {
    gw = await startTestGateway();
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
  });

  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await gw?.dispose();
  });

  it('a tenant role lists only what it can use: admin has TENANT:UPDATE, no TENANT:CREATE/DELETE, no USER', async () => {
    const { roles } = expectData(
      await gw.gql<{ roles: { id: string; permissions: Permission[] }[] }>(
        `{ roles { id permissions { resource actions } } }`,
        {},
        { tenant: 'acme' },
      ),
    );
    const admin = roles.find((r) => r.id === 'admin');
    expect(admin?.permissions.find((p) => p.resource === 'TENANT')?.actions).toEqual(['UPDATE']);
    expect(admin?.permissions.some((p) => p.resource === 'USER')).toBe(false);
    for (const role of roles) {
      const keys = role.permissions.flatMap((p) => p.actions.map((a) => `${p.resource}:${a}`));
      for (const refused of ['TENANT:CREATE', 'TENANT:DELETE', 'TENANT:VIEW', 'TENANT:LIST', 'USER:CREATE', 'USER:VIEW']) {
        expect(keys, role.id).not.toContain(refused);
      }
    }
  });

  it('createRole refuses instance-level actions, naming the field; TENANT:UPDATE is accepted', async () => {
    const create = (permissions: string) =>
      gw.gql<{ createRole: { permissions: Permission[] } }>(
        `mutation { createRole(input: {id: "r${Math.random().toString(36).slice(2, 8)}", permissions: [${permissions}]}) { permissions { resource actions } } }`,
        {},
        { tenant: 'acme' },
      );
    const tenantCreate = await create(`{resource: "TENANT", actions: ["CREATE"]}`);
    expect(errorCode(tenantCreate)).toBe('BAD_USER_INPUT');
    expect(tenantCreate.errors?.[0]?.extensions['field']).toBe('permissions[0].actions[0]');
    const user = await create(`{resource: "USER", actions: ["VIEW"]}`);
    expect(errorCode(user)).toBe('BAD_USER_INPUT');
    expect(user.errors?.[0]?.extensions['field']).toBe('permissions[0].resource');
    const ok = expectData(await create(`{resource: "TENANT", actions: ["UPDATE"]}`));
    expect(ok.createRole.permissions).toEqual([{ resource: 'TENANT', actions: ['UPDATE'] }]);
  });

  it('audit entries of flows carry namespace and id apart: a.b + c.d and a.b.c + d share a resourceId', async () => {
    for (const [namespace, id] of [
      ['a.b', 'c.d'],
      ['a.b.c', 'd'],
    ] as const) {
      expectData(
        await gw.gql(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: flowSource(namespace, id) }, { tenant: 'acme' }),
      );
    }
    const { auditLogs } = expectData(
      await gw.gql<{ auditLogs: { edges: { node: { resourceId: string; flowNamespace: string | null; flowId: string | null } }[] } }>(
        `{ auditLogs(filter: {resourceType: "FLOW"}) { edges { node { resourceId flowNamespace flowId } } } }`,
        {},
        { tenant: 'acme' },
      ),
    );
    const nodes = auditLogs.edges.map((e) => e.node);
    expect(nodes.map((n) => n.resourceId)).toEqual(['a.b.c.d', 'a.b.c.d']);
    expect(nodes.map((n) => [n.flowNamespace, n.flowId]).sort()).toEqual([
      ['a.b', 'c.d'],
      ['a.b.c', 'd'],
    ]);

    // The CSV export has them as columns; an NDJSON line (the hashed entry) has the flow's namespace apart.
    const download = async (format: string) => {
      const response = await fetch(`${gw.url}/api/v1/acme/audit-logs/export?format=${format}&resourceType=FLOW`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(response.status).toBe(200);
      return (await response.text()).trim().split(/\r?\n/);
    };
    const [header, ...rows] = await download('csv');
    const columns = (header ?? '').split(',');
    const cell = (row: string, name: string) => row.split(',')[columns.indexOf(name)];
    expect(rows.map((row) => [cell(row, 'resourceId'), cell(row, 'flowNamespace'), cell(row, 'flowId')]).sort()).toEqual([
      ['a.b.c.d', 'a.b', 'c.d'],
      ['a.b.c.d', 'a.b.c', 'd'],
    ]);
    const lines = (await download('ndjson')).map((line) => JSON.parse(line) as { namespace: string; resourceId: string });
    expect(lines.map((l) => [l.namespace, l.resourceId.slice(l.namespace.length + 1)]).sort()).toEqual([
      ['a.b', 'c.d'],
      ['a.b.c', 'd'],
    ]);
    const { auditLogs: others } = expectData(
      await gw.gql<{ auditLogs: { edges: { node: { flowNamespace: string | null; flowId: string | null } }[] } }>(
        `{ auditLogs(filter: {resourceType: "TENANT"}) { edges { node { flowNamespace flowId } } } }`,
        {},
        { tenant: 'acme' },
      ),
    );
    expect(others.edges.map((e) => e.node)).toEqual([{ flowNamespace: null, flowId: null }]);
  });

  it('every response names its correlation id in X-Correlation-Id, the one its errors carry (the client may choose it)', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${gw.url}/api/v1/acme/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, ...headers },
        body: JSON.stringify({ query: '{ flow(namespace: "nope", id: "x", revision: 1, asOf: "2026-01-01T00:00:00Z") { id } }' }),
      });
    const generated = await post({});
    const header = generated.headers.get('x-correlation-id');
    expect(header).toMatch(/^[0-9a-f-]{36}$/);
    const body = (await generated.json()) as { errors: { extensions: { correlationId: string } }[] };
    expect(body.errors[0]?.extensions.correlationId).toBe(header);

    const chosen = await post({ 'x-correlation-id': 'my-trace-42' });
    expect(chosen.headers.get('x-correlation-id')).toBe('my-trace-42');
    expect(((await chosen.json()) as typeof body).errors[0]?.extensions.correlationId).toBe('my-trace-42');
    // Answers without errors name theirs too.
    expect((await fetch(`${gw.url}/healthz`)).headers.get('x-correlation-id')).toBeTruthy();
  });

  it('errors refused before any operation ran carry the correlation id of their response too', async () => {
    const url = `${gw.url}/api/v1/acme/graphql`;
    const json = { 'content-type': 'application/json' };
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const mutation = (id: string) => JSON.stringify({ query: `mutation { createNamespace(input: {id: "${id}"}) { id } }` });
    expect(
      (await fetch(url, { method: 'POST', headers: { ...json, ...auth, 'idempotency-key': 'corr-1' }, body: mutation('corr.a') })).status,
    ).toBe(200);
    const refusals: [string, RequestInit, number][] = [
      ['no token', { method: 'POST', headers: json, body: JSON.stringify({ query: '{ namespaces { id } }' }) }, 401],
      ['malformed JSON', { method: 'POST', headers: { ...json, ...auth }, body: '{"query": ' }, 400],
      [
        'body too large',
        {
          method: 'POST',
          headers: { ...json, ...auth },
          body: JSON.stringify({ query: `{ __typename } #${'x'.repeat(2 * 1024 * 1024)}` }),
        },
        413,
      ],
      [
        'a form-like request (CSRF prevention)',
        { method: 'POST', headers: { 'content-type': 'text/plain', ...auth }, body: '{ namespaces { id } }' },
        400,
      ],
      [
        'an Idempotency-Key reused with another request',
        { method: 'POST', headers: { ...json, ...auth, 'idempotency-key': 'corr-1' }, body: mutation('corr.b') },
        422,
      ],
    ];
    for (const [what, init, status] of refusals) {
      const response = await fetch(url, init);
      expect(response.status, what).toBe(status);
      const body = (await response.json()) as { errors?: { extensions?: { correlationId?: string } }[] };
      expect(body.errors?.length, what).toBeGreaterThan(0);
      for (const error of body.errors ?? []) expect(error.extensions?.correlationId, what).toBe(response.headers.get('x-correlation-id'));
    }
  });

  it('export errors carry the correlation id', async () => {
    const response = await fetch(`${gw.url}/api/v1/acme/audit-logs/export?format=xml`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-correlation-id': 'export-7' },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-correlation-id')).toBe('export-7');
    const body = (await response.json()) as { errors: { extensions: { code: string; correlationId: string } }[] };
    expect(body.errors[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', correlationId: 'export-7' });
    const anonymous = await fetch(`${gw.url}/api/v1/acme/audit-logs/export`);
    const refused = (await anonymous.json()) as typeof body;
    expect(refused.errors[0]?.extensions.code).toBe('UNAUTHENTICATED');
    expect(refused.errors[0]?.extensions.correlationId).toBe(anonymous.headers.get('x-correlation-id'));
  });

  it('subscription errors carry the correlation id of their connection', async () => {
    const client = createClient({
      url: `${gw.url.replace(/^http/, 'ws')}/api/v1/acme/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` },
      retryAttempts: 0,
    });
    clients.push(client);
    const errorsOf = async (query: string, variables: Record<string, unknown> = {}) => {
      try {
        for await (const result of client.iterate({ query, variables })) {
          if (result.errors) return result.errors;
        }
      } catch (error) {
        return error as { extensions?: Record<string, unknown> }[];
      }
      return [];
    };
    // Refused before it runs (an unknown field: the graphql-ws Error message).
    const invalid = await errorsOf('subscription { auditLogAppended { nope } }');
    expect(invalid[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(invalid[0]?.extensions?.['correlationId']).toMatch(/^[0-9a-f-]{36}$/);
    // Refused while it runs (a bad filter value: an execution error).
    const failing = await errorsOf('subscription($f: AuditLogFilter) { auditLogAppended(filter: $f) { id } }', {
      f: { namespace: '..bad..' },
    });
    expect(failing[0]?.extensions?.['code']).toBeTruthy();
    // (The client connects lazily: this ran on a connection of its own, with its own id.)
    expect(failing[0]?.extensions?.['correlationId']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
