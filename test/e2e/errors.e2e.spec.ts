import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bind, createUserWithToken, serviceAccountToken } from '../support/access.js';
import { ADMIN_TOKEN, errorCode, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

describe('documented error codes; a refused mutation writes no event', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "company"}) { id } }`, {}, { tenant: 'acme' }));
  });
  afterAll(async () => {
    await gw.dispose();
  });

  const cases: [string, string, Record<string, unknown>, { tenant?: string; token?: string | null }, string, string?][] = [
    [
      'invalid tenant id',
      `mutation($id: ID!) { createTenant(input: {id: $id, name: "x"}) { id } }`,
      { id: 'Not Valid' },
      {},
      'BAD_USER_INPUT',
      'id',
    ],
    [
      'invalid namespace id',
      `mutation($id: ID!) { createNamespace(input: {id: $id}) { id } }`,
      { id: 'a..b' },
      { tenant: 'acme' },
      'BAD_USER_INPUT',
      'id',
    ],
    [
      'invalid variables',
      `mutation { updateNamespace(id: "company", input: {variables: [1]}) { id } }`,
      {},
      { tenant: 'acme' },
      'BAD_USER_INPUT',
      'variables',
    ],
    ['unknown tenant', `mutation { createNamespace(input: {id: "x"}) { id } }`, {}, { tenant: 'nope' }, 'TENANT_NOT_FOUND'],
    ['unknown tenant (query)', `{ namespaces { id } }`, {}, { tenant: 'nope' }, 'TENANT_NOT_FOUND'],
    ['duplicate tenant', `mutation { createTenant(input: {id: "acme", name: "again"}) { id } }`, {}, {}, 'CONFLICT'],
    ['duplicate namespace', `mutation { createNamespace(input: {id: "company"}) { id } }`, {}, { tenant: 'acme' }, 'CONFLICT'],
    [
      'stale expectedRevision',
      `mutation { updateNamespace(id: "company", input: {description: "d"}, expectedRevision: 7) { id } }`,
      {},
      { tenant: 'acme' },
      'CONFLICT',
    ],
    [
      'update of a missing namespace',
      `mutation { updateNamespace(id: "missing", input: {description: "d"}) { id } }`,
      {},
      { tenant: 'acme' },
      'NOT_FOUND',
    ],
    ['missing auth', `mutation { createNamespace(input: {id: "y"}) { id } }`, {}, { tenant: 'acme', token: null }, 'UNAUTHENTICATED'],
    [
      'bad token',
      `mutation { createNamespace(input: {id: "y"}) { id } }`,
      {},
      { tenant: 'acme', token: 'nope-nope-nope' },
      'UNAUTHENTICATED',
    ],
    ['delete main', `mutation { deleteTenant(id: "main") { id } }`, {}, {}, 'BAD_USER_INPUT', 'id'],
    ['syntax error', `mutation { createNamespace(input: {id: "y"}) { id `, {}, { tenant: 'acme' }, 'BAD_USER_INPUT'],
    ['unknown field', `mutation { createNamespace(input: {id: "y", bogus: 1}) { id } }`, {}, { tenant: 'acme' }, 'BAD_USER_INPUT'],
  ];

  it.each(cases)('%s → %s', async (_name, query, variables, options, code, field) => {
    const before = await gw.eventCount();
    const result = await gw.gql(query, variables, options);
    expect(errorCode(result), JSON.stringify(result.errors)).toBe(code);
    if (field) expect(result.errors?.[0]?.extensions['field']).toBe(field);
    expect(result.errors?.[0]?.extensions['correlationId']).toBeTypeOf('string');
    expect(await gw.eventCount()).toBe(before);
  });

  it('CONFLICT on a stale revision names the actual revision', async () => {
    const result = await gw.gql(
      `mutation { updateNamespace(id: "company", input: {description: "d"}, expectedRevision: 7) { id } }`,
      {},
      { tenant: 'acme' },
    );
    expect(result.errors?.[0]?.extensions['actualRevision']).toBe(1);
  });

  it('a malformed JSON body is BAD_USER_INPUT in GraphQL error shape, without internals', async () => {
    const response = await fetch(`${gw.url}/api/v1/acme/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
      body: '{not json',
    });
    const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(response.status).toBe(400);
    expect(body.errors[0]?.extensions.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(body)).not.toMatch(/at .*\.(js|ts):\d+/);
  });

  it('variables nested 25,000 levels deep are refused as a request limit (MAX_VARIABLE_DEPTH), not an internal error (fuzzing found it)', async () => {
    const before = await gw.eventCount();
    let deep = '1';
    for (let i = 0; i < 25_000; i++) deep = `{"a":${deep}}`;
    const body = `{"query":"mutation($input: CreateNamespaceInput!) { createNamespace(input: $input) { id } }","variables":{"input":{"id":"deep","constructor":${deep}}}}`;
    const response = await fetch(`${gw.url}/api/v1/acme/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body,
    });
    const result = (await response.json()) as { errors?: { extensions: { code: string; reason?: string } }[] };
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'MAX_VARIABLE_DEPTH' });
    expect(await gw.eventCount()).toBe(before);
  });

  it('the same namespace id lives in two tenants independently', async () => {
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "company", description: "main's"}) { id } }`, {}, { tenant: 'main' }));
    const acme = expectData(
      await gw.gql<{ namespace: { description: string | null } }>(`{ namespace(id: "company") { description } }`, {}, { tenant: 'acme' }),
    );
    const main = expectData(
      await gw.gql<{ namespace: { description: string | null } }>(`{ namespace(id: "company") { description } }`, {}, { tenant: 'main' }),
    );
    expect(acme.namespace.description).toBeNull();
    expect(main.namespace.description).toBe("main's");
  });

  it('X-Tenant-Id on the instance endpoint selects the tenant', async () => {
    const listed = expectData(
      await gw.gql<{ namespaces: { id: string }[] }>(`{ namespaces { id } }`, {}, { headers: { 'x-tenant-id': 'acme' } }),
    );
    expect(listed.namespaces.map((n) => n.id)).toContain('company');
  });

  it('an Idempotency-Key makes a retried mutation write once and answer the same', async () => {
    const headers = { 'idempotency-key': 'retry-1' };
    const first = expectData(
      await gw.gql<{ createNamespace: { revision: number } }>(
        `mutation { createNamespace(input: {id: "retried"}) { revision } }`,
        {},
        { tenant: 'acme', headers },
      ),
    );
    const before = await gw.eventCount();
    const again = expectData(
      await gw.gql<{ createNamespace: { revision: number } }>(
        `mutation { createNamespace(input: {id: "retried"}) { revision } }`,
        {},
        { tenant: 'acme', headers },
      ),
    );
    expect(again).toEqual(first);
    expect(await gw.eventCount()).toBe(before);
  });

  describe('a retried deletion (same Idempotency-Key) answers as the first time and writes nothing, cascades included', () => {
    // The first attempt revokes tokens, leaves groups and deletes bindings
    // before its own event; the retry finds none of those left to do, so its
    // own command must still be recognised as the first attempt's.
    const twice = async (document: string, tenant: string | undefined, key: string) => {
      const headers = { 'idempotency-key': key };
      const first = await gw.gql<Record<string, boolean>>(document, {}, { tenant, headers });
      const before = await gw.eventCount();
      const again = await gw.gql<Record<string, boolean>>(document, {}, { tenant, headers });
      return { first, again, wrote: (await gw.eventCount()) - before };
    };

    it.each([
      ['deleteNamespace(force) with a secret', 'doomed', `mutation { deleteNamespace(id: "doomed", force: true) { id } }`],
      ['deleteNamespace', 'doomed-empty', `mutation { deleteNamespace(id: "doomed-empty") { id } }`],
      ['deleteNamespace(includeChildren)', 'doomed-tree', `mutation { deleteNamespace(id: "doomed-tree", includeChildren: true) { id } }`],
    ])('%s', async (_name, namespace, document) => {
      for (const id of namespace === 'doomed-tree' ? [namespace, `${namespace}.a`, `${namespace}.b`] : [namespace]) {
        expectData(await gw.gql(`mutation($id: ID!) { createNamespace(input: {id: $id}) { id } }`, { id }, { tenant: 'acme' }));
      }
      if (namespace === 'doomed') {
        expectData(
          await gw.gql(`mutation { putSecret(input: {namespace: "doomed", key: "K", value: "v"}) { version } }`, {}, { tenant: 'acme' }),
        );
      }
      const { first, again, wrote } = await twice(document, 'acme', `delete-${namespace}-1`);
      expect(expectData(again)).toEqual(expectData(first));
      expect(wrote).toBe(0);
    });

    it('deleteFlow, deleteSecret, deleteRole, deleteBinding, revokeApiToken', async () => {
      expectData(await gw.gql(`mutation { createNamespace(input: {id: "kept"}) { id } }`, {}, { tenant: 'acme' }));
      expectData(
        await gw.gql(
          `mutation($s: String!) { createFlow(source: $s) { id } }`,
          { s: 'id: f1\nnamespace: kept\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n' },
          { tenant: 'acme' },
        ),
      );
      expectData(
        await gw.gql(`mutation { putSecret(input: {namespace: "kept", key: "K", value: "v"}) { version } }`, {}, { tenant: 'acme' }),
      );
      expectData(
        await gw.gql(
          `mutation { createRole(input: {id: "temp-role", name: "t", permissions: [{resource: "FLOW", actions: ["VIEW"]}]}) { id } }`,
          {},
          { tenant: 'acme' },
        ),
      );
      await createUserWithToken(gw, 'bound-user');
      const binding = await bind(gw, 'acme', { principalType: 'USER', principalId: 'bound-user', roleId: 'viewer' });
      const { token: _t, tokenId } = await serviceAccountToken(gw, 'acme', 'token-bot');
      for (const [document, key] of [
        [`mutation { deleteFlow(namespace: "kept", id: "f1") { id revision } }`, 'df'],
        [`mutation { deleteSecret(namespace: "kept", key: "K") }`, 'ds'],
        [`mutation { deleteRole(id: "temp-role") }`, 'dr'],
        [`mutation { deleteBinding(id: "${binding}") }`, 'db'],
        [`mutation { revokeApiToken(id: "${tokenId}") }`, 'rt'],
      ] as const) {
        const { first, again, wrote } = await twice(document, 'acme', `retry-${key}`);
        expect(expectData(again), document).toEqual(expectData(first));
        expect(wrote, document).toBe(0);
      }
    });

    it('deleteUser with a token, a group and a binding', async () => {
      await createUserWithToken(gw, 'leaver');
      expectData(await gw.gql(`mutation { createGroup(input: {id: "leavers"}) { id } }`, {}, { tenant: 'acme' }));
      expectData(await gw.gql(`mutation { addGroupMember(groupId: "leavers", userId: "leaver") { id } }`, {}, { tenant: 'acme' }));
      await bind(gw, 'acme', { principalType: 'USER', principalId: 'leaver', roleId: 'viewer' });
      const { first, again, wrote } = await twice(`mutation { deleteUser(id: "leaver") }`, undefined, 'delete-user-1');
      expect(expectData(first).deleteUser).toBe(true);
      expect(expectData(again).deleteUser).toBe(true);
      expect(wrote).toBe(0);
      // Without the key, the user is gone: NOT_FOUND.
      expect(errorCode(await gw.gql(`mutation { deleteUser(id: "leaver") }`))).toBe('NOT_FOUND');
    });

    it('deleteGroup with a binding', async () => {
      expectData(await gw.gql(`mutation { createGroup(input: {id: "bound-group"}) { id } }`, {}, { tenant: 'acme' }));
      await bind(gw, 'acme', { principalType: 'GROUP', principalId: 'bound-group', roleId: 'viewer' });
      const { first, again, wrote } = await twice(`mutation { deleteGroup(id: "bound-group") }`, 'acme', 'delete-group-1');
      expect(expectData(first).deleteGroup).toBe(true);
      expect(expectData(again).deleteGroup).toBe(true);
      expect(wrote).toBe(0);
    });

    it('deleteServiceAccount with a token and a binding', async () => {
      await serviceAccountToken(gw, 'acme', 'retired-bot');
      await bind(gw, 'acme', { principalType: 'SERVICE_ACCOUNT', principalId: 'retired-bot', roleId: 'viewer' });
      const { first, again, wrote } = await twice(`mutation { deleteServiceAccount(id: "retired-bot") }`, 'acme', 'delete-sa-1');
      expect(expectData(first).deleteServiceAccount).toBe(true);
      expect(expectData(again).deleteServiceAccount).toBe(true);
      expect(wrote).toBe(0);
    });
  });
});
