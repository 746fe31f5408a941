import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bind, createTenant, createUserWithToken, flowSource, serviceAccountToken, userToken } from '../support/access.js';
import { errorCode, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface EffectivePermission {
  resource: string;
  action: string;
  namespace: string | null;
  via: string;
}

const EFFECTIVE = `query($principalId: ID!, $namespace: String, $asOf: DateTime) {
  effectivePermissions(principalId: $principalId, namespace: $namespace, asOf: $asOf) { resource action namespace via }
}`;

describe('access control over GraphQL (real HTTP, SQLite log)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
    await createTenant(gw, 'acme');
    for (const ns of ['company', 'company.team', 'marketing']) {
      expectData(await gw.gql(`mutation($id: ID!) { createNamespace(input: {id: $id}) { id } }`, { id: ns }, { tenant: 'acme' }));
    }
    for (const [ns, id] of [
      ['company.team', 'etl'],
      ['marketing', 'campaign'],
    ] as const) {
      expectData(await gw.gql(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: flowSource(ns, id) }, { tenant: 'acme' }));
    }
  });
  afterAll(async () => {
    await gw.dispose();
  });

  describe('a viewer bound on `company`', () => {
    let vera: string;
    beforeAll(async () => {
      vera = await createUserWithToken(gw, 'vera');
      await bind(gw, 'acme', { principalType: 'USER', principalId: 'vera', roleId: 'viewer', namespace: 'company' });
    });

    it('lists flows in company.team', async () => {
      const result = expectData(
        await gw.gql<{ flows: { edges: { node: { id: string; namespace: string } }[] } }>(
          `{ flows(namespace: "company.team") { edges { node { id namespace } } } }`,
          {},
          { tenant: 'acme', token: vera },
        ),
      );
      expect(result.flows.edges.map((e) => e.node)).toEqual([{ id: 'etl', namespace: 'company.team' }]);
    });

    it('cannot create a flow: FORBIDDEN with FLOW:CREATE, and nothing is written', async () => {
      const before = await gw.eventCount();
      const result = await gw.gql(
        `mutation($s: String!) { createFlow(source: $s) { id } }`,
        { s: flowSource('company.team', 'sneaky') },
        { tenant: 'acme', token: vera },
      );
      expect(errorCode(result)).toBe('FORBIDDEN');
      expect(result.errors?.[0]?.extensions['permission']).toBe('FLOW:CREATE');
      expect(await gw.eventCount()).toBe(before);
    });

    it('does not see marketing at all, neither in lists nor by id', async () => {
      const data = expectData(
        await gw.gql<{
          namespaces: { id: string }[];
          flows: { edges: { node: { namespace: string } }[]; totalCount: number };
          namespace: null;
          flow: null;
        }>(
          `{ namespaces { id } flows(first: 100) { totalCount edges { node { namespace } } }
             namespace(id: "marketing") { id } flow(namespace: "marketing", id: "campaign") { id } }`,
          {},
          { tenant: 'acme', token: vera },
        ),
      );
      expect(data.namespaces.map((n) => n.id)).toEqual(['company', 'company.team']);
      expect(data.flows.edges.map((e) => e.node.namespace)).toEqual(['company.team']);
      expect(data.flows.totalCount).toBe(1);
      expect(data.namespace).toBeNull();
      expect(data.flow).toBeNull();
      const marketingFlows = expectData(
        await gw.gql<{ flows: { totalCount: number } }>(
          `{ flows(namespace: "marketing") { totalCount } }`,
          {},
          { tenant: 'acme', token: vera },
        ),
      );
      expect(marketingFlows.flows.totalCount).toBe(0);
    });

    it('sees its own permissions in `me` and in effectivePermissions, but may not ask about others', async () => {
      const me = expectData(
        await gw.gql<{ me: { id: string; tenants: { id: string; permissions: string[]; grants: EffectivePermission[] }[] } }>(
          `{ me { id tenants { id permissions grants { resource action namespace via } } } }`,
          {},
          { token: vera },
        ),
      );
      expect(me.me.tenants).toEqual([
        {
          id: 'acme',
          permissions: expect.arrayContaining(['FLOW:LIST@company', 'NAMESPACE:VIEW@company']) as unknown,
          grants: expect.arrayContaining([
            { resource: 'FLOW', action: 'LIST', namespace: 'company', via: expect.stringMatching(/^binding:/) as unknown },
          ]) as unknown,
        },
      ]);
      const own = expectData(
        await gw.gql<{ effectivePermissions: EffectivePermission[] }>(EFFECTIVE, { principalId: 'vera' }, { tenant: 'acme', token: vera }),
      );
      expect(own.effectivePermissions).toContainEqual({
        resource: 'FLOW',
        action: 'LIST',
        namespace: 'company',
        via: expect.stringMatching(/^binding:/) as unknown,
      });
      const other = await gw.gql(EFFECTIVE, { principalId: 'admin' }, { tenant: 'acme', token: vera });
      expect(errorCode(other)).toBe('FORBIDDEN');
      expect(other.errors?.[0]?.extensions['permission']).toBe('BINDING:LIST');
    });

    it('cannot see roles, bindings, groups or service accounts, nor mint a token for someone else', async () => {
      const data = expectData(
        await gw.gql(`{ roles { id } bindings { id } groups { id } serviceAccounts { id } }`, {}, { tenant: 'acme', token: vera }),
      );
      expect(data).toEqual({ roles: [], bindings: [], groups: [], serviceAccounts: [] });
      const before = await gw.eventCount();
      const forOther = await gw.gql(
        `mutation { createApiToken(input: {principalId: "admin", name: "steal", principalType: USER}) { token } }`,
        {},
        { token: vera },
      );
      expect(errorCode(forOther)).toBe('FORBIDDEN');
      expect(await gw.eventCount()).toBe(before);
    });
  });

  describe('groups', () => {
    let gina: string;
    let bindingId: string;
    beforeAll(async () => {
      gina = await createUserWithToken(gw, 'gina');
      expectData(await gw.gql(`mutation { createGroup(input: {id: "data-team", description: "Data"}) { id } }`, {}, { tenant: 'acme' }));
      bindingId = await bind(gw, 'acme', {
        principalType: 'GROUP',
        principalId: 'data-team',
        roleId: 'developer',
        namespace: 'company.team',
      });
    });

    it('grants its members, removing a member removes the grant, and effectivePermissions shows both states (asOf)', async () => {
      const createFlow = (id: string) =>
        gw.gql<{ createFlow: { id: string } }>(
          `mutation($s: String!) { createFlow(source: $s) { id } }`,
          { s: flowSource('company.team', id) },
          { tenant: 'acme', token: gina },
        );
      expect(errorCode(await createFlow('before-joining'))).toBe('TENANT_NOT_FOUND');

      const added = expectData(
        await gw.gql<{ addGroupMember: { members: string[]; revision: number } }>(
          `mutation { addGroupMember(groupId: "data-team", userId: "gina") { members revision } }`,
          {},
          { tenant: 'acme' },
        ),
      );
      expect(added.addGroupMember).toEqual({ members: ['gina'], revision: 2 });
      await pause(5);
      const whileMember = new Date().toISOString();
      await pause(5);
      expect(expectData(await createFlow('as-member')).createFlow.id).toBe('as-member');

      expectData(await gw.gql(`mutation { removeGroupMember(groupId: "data-team", userId: "gina") { members } }`, {}, { tenant: 'acme' }));
      await pause(5);
      const before = await gw.eventCount();
      expect(errorCode(await createFlow('after-leaving'))).toBe('TENANT_NOT_FOUND');
      expect(await gw.eventCount()).toBe(before);

      const then = expectData(
        await gw.gql<{ effectivePermissions: EffectivePermission[] }>(
          EFFECTIVE,
          { principalId: 'gina', asOf: whileMember },
          { tenant: 'acme' },
        ),
      );
      expect(then.effectivePermissions).toContainEqual({
        resource: 'FLOW',
        action: 'CREATE',
        namespace: 'company.team',
        via: `group:data-team binding:${bindingId}`,
      });
      expect(then.effectivePermissions.every((p) => p.via === `group:data-team binding:${bindingId}`)).toBe(true);
      const now = expectData(
        await gw.gql<{ effectivePermissions: EffectivePermission[] }>(EFFECTIVE, { principalId: 'gina' }, { tenant: 'acme' }),
      );
      expect(now.effectivePermissions).toEqual([]);
      const replayedNow = expectData(
        await gw.gql<{ effectivePermissions: EffectivePermission[] }>(
          EFFECTIVE,
          { principalId: 'gina', asOf: new Date().toISOString() },
          { tenant: 'acme' },
        ),
      );
      expect(replayedNow.effectivePermissions).toEqual([]);
    });

    it('filters effectivePermissions by namespace with the same subtree rule as enforcement', async () => {
      const inside = expectData(
        await gw.gql<{ effectivePermissions: EffectivePermission[] }>(
          EFFECTIVE,
          { principalId: 'data-team', namespace: 'company.team.etl' },
          { tenant: 'acme' },
        ),
      );
      expect(inside.effectivePermissions.map((p) => `${p.resource}:${p.action}`)).toContain('FLOW:CREATE');
      const outside = expectData(
        await gw.gql<{ effectivePermissions: EffectivePermission[] }>(
          EFFECTIVE,
          { principalId: 'data-team', namespace: 'marketing' },
          { tenant: 'acme' },
        ),
      );
      expect(outside.effectivePermissions).toEqual([]);
    });

    it('adding a member twice changes nothing; removing a non-member is NOT_FOUND; an unknown user is BAD_USER_INPUT', async () => {
      expectData(await gw.gql(`mutation { addGroupMember(groupId: "data-team", userId: "gina") { id } }`, {}, { tenant: 'acme' }));
      const before = await gw.eventCount();
      expectData(await gw.gql(`mutation { addGroupMember(groupId: "data-team", userId: "gina") { id } }`, {}, { tenant: 'acme' }));
      expect(await gw.eventCount()).toBe(before);
      expect(
        errorCode(await gw.gql(`mutation { removeGroupMember(groupId: "data-team", userId: "vera") { id } }`, {}, { tenant: 'acme' })),
      ).toBe('NOT_FOUND');
      const unknown = await gw.gql(`mutation { addGroupMember(groupId: "data-team", userId: "nobody") { id } }`, {}, { tenant: 'acme' });
      expect(errorCode(unknown)).toBe('BAD_USER_INPUT');
      expect(unknown.errors?.[0]?.extensions['field']).toBe('userId');
      expect(await gw.eventCount()).toBe(before);
    });
  });

  describe('custom roles and bindings', () => {
    it('creates a custom role, binds it on a subtree, and the grant follows role updates', async () => {
      const carl = await createUserWithToken(gw, 'carl');
      const created = expectData(
        await gw.gql<{
          createRole: { id: string; managed: boolean; revision: number; permissions: { resource: string; actions: string[] }[] };
        }>(
          `mutation { createRole(input: {id: "flow-reader", name: "Flow reader", permissions: [{resource: "FLOW", actions: ["LIST", "VIEW", "VIEW"]}, {resource: "NAMESPACE", actions: ["VIEW"]}]}) {
             id managed revision permissions { resource actions } } }`,
          {},
          { tenant: 'acme' },
        ),
      );
      expect(created.createRole).toEqual({
        id: 'flow-reader',
        managed: false,
        revision: 1,
        permissions: [
          { resource: 'NAMESPACE', actions: ['VIEW'] },
          { resource: 'FLOW', actions: ['VIEW', 'LIST'] },
        ],
      });
      const afterCreate = new Date().toISOString();
      await pause(5);
      await bind(gw, 'acme', { principalType: 'USER', principalId: 'carl', roleId: 'flow-reader', namespace: 'marketing' });
      const flows = () => gw.gql<{ flows: { totalCount: number } }>(`{ flows { totalCount } }`, {}, { tenant: 'acme', token: carl });
      expect(expectData(await flows()).flows.totalCount).toBe(1);

      const updated = expectData(
        await gw.gql<{ updateRole: { revision: number } }>(
          `mutation { updateRole(id: "flow-reader", input: {permissions: [{resource: "NAMESPACE", actions: ["VIEW"]}]}, expectedRevision: 1) { revision } }`,
          {},
          { tenant: 'acme' },
        ),
      );
      expect(updated.updateRole.revision).toBe(2);
      expect(expectData(await flows()).flows.totalCount).toBe(0);

      const old = expectData(
        await gw.gql<{ role: { revision: number; permissions: { resource: string }[] } }>(
          `query($asOf: DateTime) { role(id: "flow-reader", asOf: $asOf) { revision permissions { resource } } }`,
          { asOf: afterCreate },
          { tenant: 'acme' },
        ),
      );
      expect(old.role).toEqual({ revision: 1, permissions: [{ resource: 'NAMESPACE' }, { resource: 'FLOW' }] });
    });

    it('refuses to delete a bound role (CONFLICT) and managed roles (BAD_USER_INPUT), writing nothing', async () => {
      const before = await gw.eventCount();
      expect(errorCode(await gw.gql(`mutation { deleteRole(id: "flow-reader") }`, {}, { tenant: 'acme' }))).toBe('CONFLICT');
      const managed = await gw.gql(`mutation { deleteRole(id: "viewer") }`, {}, { tenant: 'acme' });
      expect(errorCode(managed)).toBe('BAD_USER_INPUT');
      expect(managed.errors?.[0]?.extensions['field']).toBe('id');
      expect(errorCode(await gw.gql(`mutation { updateRole(id: "admin", input: {name: "x"}) { id } }`, {}, { tenant: 'acme' }))).toBe(
        'BAD_USER_INPUT',
      );
      expect(errorCode(await gw.gql(`mutation { createRole(input: {id: "admin", permissions: []}) { id } }`, {}, { tenant: 'acme' }))).toBe(
        'CONFLICT',
      );
      expect(await gw.eventCount()).toBe(before);
    });

    it('deletes a role once its bindings are gone', async () => {
      const bindings = expectData(
        await gw.gql<{ bindings: { id: string }[] }>(`{ bindings(roleId: "flow-reader") { id } }`, {}, { tenant: 'acme' }),
      );
      expect(bindings.bindings).toHaveLength(1);
      for (const b of bindings.bindings)
        expect(expectData(await gw.gql(`mutation($id: ID!) { deleteBinding(id: $id) }`, { id: b.id }, { tenant: 'acme' }))).toEqual({
          deleteBinding: true,
        });
      expect(expectData(await gw.gql(`mutation { deleteRole(id: "flow-reader") }`, {}, { tenant: 'acme' }))).toEqual({ deleteRole: true });
      const roles = expectData(
        await gw.gql<{ roles: { id: string; managed: boolean }[] }>(`{ roles { id managed } }`, {}, { tenant: 'acme' }),
      );
      expect(roles.roles.map((r) => r.id)).toEqual(['admin', 'developer', 'editor', 'viewer']);
    });

    it('validates bindings: the role and the principal must exist; identical bindings conflict', async () => {
      const before = await gw.eventCount();
      const cases: [Record<string, unknown>, string, string][] = [
        [{ principalType: 'USER', principalId: 'vera', roleId: 'no-such-role' }, 'BAD_USER_INPUT', 'roleId'],
        [{ principalType: 'USER', principalId: 'nobody', roleId: 'viewer' }, 'BAD_USER_INPUT', 'principalId'],
        [{ principalType: 'GROUP', principalId: 'no-group', roleId: 'viewer' }, 'BAD_USER_INPUT', 'principalId'],
        [{ principalType: 'SERVICE_ACCOUNT', principalId: 'no-sa', roleId: 'viewer' }, 'BAD_USER_INPUT', 'principalId'],
        [{ principalType: 'USER', principalId: 'vera', roleId: 'viewer', namespace: 'Bad..ns' }, 'BAD_USER_INPUT', 'namespace'],
        [{ principalType: 'USER', principalId: 'vera', roleId: 'viewer', namespace: 'company' }, 'CONFLICT', ''],
      ];
      for (const [input, code, field] of cases) {
        const result = await gw.gql(
          `mutation($input: CreateBindingInput!) { createBinding(input: $input) { id } }`,
          { input },
          { tenant: 'acme' },
        );
        expect(errorCode(result), JSON.stringify(input)).toBe(code);
        if (field) expect(result.errors?.[0]?.extensions['field']).toBe(field);
      }
      expect(await gw.eventCount()).toBe(before);
    });
  });

  describe('API tokens', () => {
    it('are shown once, stored only as a salted hash, and record their last use', async () => {
      const token = await createUserWithToken(gw, 'tina');
      const [, tokenId] = /^tnt_([0-9a-f-]{36})_/.exec(token) ?? [];
      const secret = token.slice(`tnt_${tokenId}_`.length);
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const log = JSON.stringify(await gw.app.events.readAll({ maxCount: 100_000 }));
      expect(log).toContain(tokenId);
      expect(log).not.toContain(secret);

      const list = async () =>
        expectData(
          await gw.gql<{ apiTokens: { id: string; name: string; lastUsedAt: string | null; revoked: boolean }[] }>(
            `{ apiTokens(principalId: "tina") { id name lastUsedAt revoked } }`,
          ),
        ).apiTokens;
      expect(await list()).toEqual([{ id: tokenId, name: 'test', lastUsedAt: null, revoked: false }]);
      expect(JSON.stringify(await list())).not.toContain(secret);

      // Recorded on use, at most once a minute, and not as an event.
      const lastUsed = async () => (await list())[0]?.lastUsedAt ?? null;
      const before = await gw.eventCount();
      expectData(await gw.gql(`{ me { id } }`, {}, { token }));
      await vi.waitFor(async () => expect(await lastUsed()).not.toBeNull());
      const first = await lastUsed();
      expectData(await gw.gql(`{ me { id } }`, {}, { token }));
      expect(await lastUsed()).toBe(first);
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        vi.setSystemTime(Date.now() + 61_000);
        expectData(await gw.gql(`{ me { id } }`, {}, { token }));
        await vi.waitFor(async () => expect(await lastUsed()).not.toBe(first));
      } finally {
        vi.useRealTimers();
      }
      expect(await gw.eventCount()).toBe(before);
    });

    it('refuses a revoked token, and a token with a wrong secret', async () => {
      const token = await userToken(gw, 'vera');
      const tokenId = token.slice(4, 40);
      expectData(await gw.gql(`{ me { id } }`, {}, { token }));
      expect(expectData(await gw.gql(`mutation($id: ID!) { revokeApiToken(id: $id) }`, { id: tokenId }, { token }))).toEqual({
        revokeApiToken: true,
      });
      const refused = await gw.gql(`{ me { id } }`, {}, { token });
      expect(errorCode(refused)).toBe('UNAUTHENTICATED');
      expect(refused.status).toBe(401);
      const other = await userToken(gw, 'vera');
      const tampered = `${other.slice(0, -2)}${other.endsWith('AA') ? 'BB' : 'AA'}`;
      expect(errorCode(await gw.gql(`{ me { id } }`, {}, { token: tampered }))).toBe('UNAUTHENTICATED');
    });

    it('refuses an expired token', async () => {
      const token = await userToken(gw, 'vera', 60);
      expectData(await gw.gql(`{ me { id } }`, {}, { token }));
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        vi.setSystemTime(Date.now() + 61_000);
        expect(errorCode(await gw.gql(`{ me { id } }`, {}, { token }))).toBe('UNAUTHENTICATED');
      } finally {
        vi.useRealTimers();
      }
      expect(errorCode(await gw.gql(`mutation { createApiToken(input: {principalId: "admin", name: "x", expiresIn: 5}) { id } }`))).toBe(
        'BAD_USER_INPUT',
      );
    });

    it("a service account's token acts in its tenant only", async () => {
      await createTenant(gw, 'globex');
      const { token } = await serviceAccountToken(gw, 'acme', 'ci');
      await bind(gw, 'acme', { principalType: 'SERVICE_ACCOUNT', principalId: 'ci', roleId: 'developer' });
      expect(
        expectData(await gw.gql<{ flows: { totalCount: number } }>(`{ flows { totalCount } }`, {}, { tenant: 'acme', token })).flows
          .totalCount,
      ).toBeGreaterThan(0);
      const before = await gw.eventCount();
      for (const query of [
        `{ flows { totalCount } }`,
        `{ namespaces { id } }`,
        `mutation { createNamespace(input: {id: "ci-was-here"}) { id } }`,
      ]) {
        expect(errorCode(await gw.gql(query, {}, { tenant: 'globex', token }))).toBe('TENANT_NOT_FOUND');
      }
      expect(await gw.eventCount()).toBe(before);
      const me = expectData(
        await gw.gql<{ me: { type: string; tenants: { id: string }[] } }>(`{ me { type tenants { id } } }`, {}, { token }),
      );
      expect(me.me).toEqual({ type: 'SERVICE_ACCOUNT', tenants: [{ id: 'acme' }] });
    });

    it('service-account tokens are listed and revoked in their tenant, with SERVICE_ACCOUNT rights', async () => {
      const { token, tokenId } = await serviceAccountToken(gw, 'acme', 'deployer');
      const listed = expectData(
        await gw.gql<{ apiTokens: { id: string; principalId: string }[] }>(
          `{ apiTokens(principalId: "deployer") { id principalId } }`,
          {},
          { tenant: 'acme' },
        ),
      );
      expect(listed.apiTokens).toEqual([{ id: tokenId, principalId: 'deployer' }]);
      const vera = await userToken(gw, 'vera');
      const before = await gw.eventCount();
      expect(
        errorCode(await gw.gql(`mutation($id: ID!) { revokeApiToken(id: $id) }`, { id: tokenId }, { tenant: 'acme', token: vera })),
      ).toBe('NOT_FOUND');
      expect(await gw.eventCount()).toBe(before);
      expectData(await gw.gql(`mutation($id: ID!) { revokeApiToken(id: $id) }`, { id: tokenId }, { tenant: 'acme' }));
      expect(errorCode(await gw.gql(`{ me { id } }`, {}, { token }))).toBe('UNAUTHENTICATED');
    });
  });

  it('the docs example (docs/access-control.md): a team gets one namespace subtree', async () => {
    const alice = await createUserWithToken(gw, 'alice');
    await createUserWithToken(gw, 'bob');
    const done = expectData(
      await gw.gql<{ createBinding: { namespace: string } }>(
        `mutation {
          createGroup(input: {id: "data-team-2", name: "Data team"}) { id }
          alice: addGroupMember(groupId: "data-team-2", userId: "alice") { members }
          bob: addGroupMember(groupId: "data-team-2", userId: "bob") { members }
          createBinding(input: {principalType: GROUP, principalId: "data-team-2", roleId: "developer", namespace: "company.data"}) {
            id principalType principalId roleId namespace
          }
        }`,
        {},
        { tenant: 'acme' },
      ),
    );
    expect(done.createBinding.namespace).toBe('company.data');
    const create = (ns: string) =>
      gw.gql(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: flowSource(ns, 'readme') }, { tenant: 'acme', token: alice });
    expectData(await create('company.data.etl'));
    const refused = await create('company.marketing');
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect(refused.errors?.[0]?.extensions['permission']).toBe('FLOW:CREATE');
    const perms = expectData(
      await gw.gql<{ effectivePermissions: EffectivePermission[] }>(
        EFFECTIVE,
        { principalId: 'alice', namespace: 'company.data.etl' },
        { tenant: 'acme', token: alice },
      ),
    );
    expect(perms.effectivePermissions).toContainEqual(
      expect.objectContaining({ resource: 'FLOW', action: 'CREATE', via: expect.stringMatching(/^group:data-team-2 binding:/) as unknown }),
    );
  });

  describe('instance admins and tenants', () => {
    it('an instance admin without a binding sees nothing inside a tenant but may hand it over', async () => {
      expectData(await gw.gql(`mutation { createTenant(input: {id: "initech", name: "Initech"}) { id } }`));
      const data = expectData(
        await gw.gql<{ namespaces: unknown[]; roles: { id: string }[] }>(`{ namespaces { id } roles { id } }`, {}, { tenant: 'initech' }),
      );
      expect(data.namespaces).toEqual([]);
      expect(data.roles.map((r) => r.id)).toEqual(['admin', 'developer', 'editor', 'viewer']);
      const refused = await gw.gql(`mutation { createNamespace(input: {id: "x"}) { id } }`, {}, { tenant: 'initech' });
      expect(errorCode(refused)).toBe('FORBIDDEN');
      expect(refused.errors?.[0]?.extensions['permission']).toBe('NAMESPACE:CREATE');
      await bind(gw, 'initech', { principalType: 'USER', principalId: 'vera', roleId: 'admin' });
      const vera = await userToken(gw, 'vera');
      expectData(await gw.gql(`mutation { createNamespace(input: {id: "x"}) { id } }`, {}, { tenant: 'initech', token: vera }));
    });

    it('createTenant(adminUserId) binds that user as admin', async () => {
      const olga = await createUserWithToken(gw, 'olga');
      await createTenant(gw, 'olgas', 'olga');
      const bindings = expectData(
        await gw.gql<{ bindings: { principalId: string; roleId: string; namespace: null }[] }>(
          `{ bindings { principalId roleId namespace } }`,
          {},
          { tenant: 'olgas', token: olga },
        ),
      );
      expect(bindings.bindings).toEqual([{ principalId: 'olga', roleId: 'admin', namespace: null }]);
      const refused = await gw.gql(`mutation { createTenant(input: {id: "olga-two", name: "No"}) { id } }`, {}, { token: olga });
      expect(errorCode(refused)).toBe('FORBIDDEN');
    });

    it('records every access-control change in the audit log', async () => {
      const entries = expectData(
        await gw.gql<{ auditLogs: { edges: { node: { resourceType: string; action: string } }[] } }>(
          `{ auditLogs(first: 500) { edges { node { resourceType action } } } }`,
          {},
          { tenant: 'acme' },
        ),
      );
      const kinds = new Set(entries.auditLogs.edges.map((e) => `${e.node.resourceType}:${e.node.action}`));
      for (const kind of [
        'ROLE:CREATE',
        'ROLE:UPDATE',
        'ROLE:DELETE',
        'BINDING:GRANT',
        'BINDING:REVOKE',
        'GROUP:CREATE',
        'GROUP:ADD_MEMBER',
        'GROUP:REMOVE_MEMBER',
        'SERVICE_ACCOUNT:CREATE',
        'API_TOKEN:CREATE',
        'API_TOKEN:REVOKE',
      ]) {
        expect(kinds, kind).toContain(kind);
      }
    });
  });
});
