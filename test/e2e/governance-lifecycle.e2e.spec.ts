/**
 * Issue 18, complete lifecycles: users, groups and service accounts are read
 * one by one, updated, disabled, enabled and deleted over GraphQL, each change
 * with its audit entry; every refusal (not found, forbidden, conflict, bad
 * input) writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bind, createTenant, createUserWithToken, serviceAccountToken } from '../support/access.js';
import { errorCode, expectData, startTestGateway, type GqlResult, type TestGateway } from '../support/gateway.js';

interface AuditNode {
  eventType: string;
  action: string;
  resourceId: string;
  changes: Record<string, { before: unknown; after: unknown }> | null;
  actor: { id: string };
}

describe('governance lifecycles', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
    await createTenant(gw, 'gov');
  });
  afterAll(async () => {
    await gw.dispose();
  });

  /** The audit entries of one resource, oldest first. */
  async function auditOf(tenant: string | null, resourceType: string, resourceId: string): Promise<AuditNode[]> {
    const result = await gw.gql<{ auditLogs: { edges: { node: AuditNode }[] } }>(
      `query($f: AuditLogFilter) { auditLogs(filter: $f, first: 200) { edges { node { eventType action resourceId changes actor { id } } } } }`,
      { f: { resourceType, resourceId } },
      { tenant },
    );
    return expectData(result)
      .auditLogs.edges.map((e) => e.node)
      .reverse();
  }

  /** Runs a refused mutation: the expected code, and not one event written. */
  async function refused(code: string, run: () => Promise<GqlResult<unknown>>): Promise<GqlResult<unknown>> {
    const before = await gw.eventCount();
    const result = await run();
    expect(result.errors?.[0]?.extensions.code, JSON.stringify(result.errors)).toBe(code);
    expect(await gw.eventCount()).toBe(before);
    return result;
  }

  describe('users', () => {
    const USER = `id email name disabled revision createdAt updatedAt`;

    it('user(id): instance admins read anyone, a user reads itself, others are refused', async () => {
      const token = await createUserWithToken(gw, 'uma');
      await createUserWithToken(gw, 'ulf');
      const byAdmin = expectData(
        await gw.gql<{ user: { id: string; disabled: boolean; revision: number } }>(`{ user(id: "uma") { ${USER} } }`),
      );
      expect(byAdmin.user).toMatchObject({ id: 'uma', email: 'uma@example.com', disabled: false, revision: 1 });
      expect(expectData(await gw.gql<{ user: { id: string } }>(`{ user(id: "uma") { id } }`, {}, { token })).user.id).toBe('uma');
      expect(errorCode(await gw.gql(`{ user(id: "ulf") { id } }`, {}, { token }))).toBe('FORBIDDEN');
      expect(expectData(await gw.gql(`{ user(id: "nobody") { id } }`)).user).toBeNull();
    });

    it('updateUser changes e-mail and name, audited with before and after; refusals write nothing', async () => {
      const token = await createUserWithToken(gw, 'ugo');
      const updated = expectData(
        await gw.gql<{ updateUser: { email: string; name: string | null; revision: number } }>(
          `mutation { updateUser(id: "ugo", input: {email: "Ugo@Example.org", name: "Ugo B."}, expectedRevision: 1) { ${USER} } }`,
        ),
      ).updateUser;
      expect(updated).toMatchObject({ email: 'ugo@example.org', name: 'Ugo B.', revision: 2 });
      const entries = await auditOf(null, 'USER', 'ugo');
      expect(entries.at(-1)).toMatchObject({
        eventType: 'UserUpdated',
        action: 'UPDATE',
        changes: { email: { before: 'ugo@example.com', after: 'ugo@example.org' }, name: { before: 'ugo', after: 'Ugo B.' } },
      });
      await refused('CONFLICT', () => gw.gql(`mutation { updateUser(id: "ugo", input: {name: "x"}, expectedRevision: 1) { id } }`)).then(
        (r) => expect(r.errors?.[0]?.extensions['actualRevision']).toBe(2),
      );
      await refused('BAD_USER_INPUT', () => gw.gql(`mutation { updateUser(id: "ugo", input: {email: "not-an-address"}) { id } }`));
      await refused('NOT_FOUND', () => gw.gql(`mutation { updateUser(id: "nobody", input: {name: "x"}) { id } }`));
      await refused('FORBIDDEN', () => gw.gql(`mutation { updateUser(id: "ugo", input: {name: "me"}) { id } }`, {}, { token }));
    });

    it('disableUser stops its API token at once, enableUser lets it back; both audited; the built-in admin stays', async () => {
      const token = await createUserWithToken(gw, 'ula');
      expect((await gw.gql(`{ me { id } }`, {}, { token })).status).toBe(200);
      const disabled = expectData(
        await gw.gql<{ disableUser: { disabled: boolean; revision: number } }>(
          `mutation { disableUser(id: "ula", expectedRevision: 1) { ${USER} } }`,
        ),
      ).disableUser;
      expect(disabled).toMatchObject({ disabled: true, revision: 2 });
      const refusedToken = await gw.gql(`{ me { id } }`, {}, { token });
      expect(refusedToken.status).toBe(401);
      expect(errorCode(refusedToken)).toBe('UNAUTHENTICATED');
      expect(expectData(await gw.gql<{ user: { disabled: boolean } }>(`{ user(id: "ula") { disabled } }`)).user.disabled).toBe(true);
      // Disabling twice changes nothing.
      const count = await gw.eventCount();
      expectData(await gw.gql(`mutation { disableUser(id: "ula") { id } }`));
      expect(await gw.eventCount()).toBe(count);

      await refused('CONFLICT', () => gw.gql(`mutation { enableUser(id: "ula", expectedRevision: 1) { id } }`));
      expect(
        expectData(
          await gw.gql<{ enableUser: { disabled: boolean } }>(`mutation { enableUser(id: "ula", expectedRevision: 2) { disabled } }`),
        ).enableUser.disabled,
      ).toBe(false);
      expect((await gw.gql(`{ me { id } }`, {}, { token })).status).toBe(200);
      expect((await auditOf(null, 'USER', 'ula')).map((e) => `${e.eventType}:${e.action}`)).toEqual([
        'UserCreated:CREATE',
        'UserDisabled:UPDATE',
        'UserEnabled:UPDATE',
      ]);

      await refused('BAD_USER_INPUT', () => gw.gql(`mutation { disableUser(id: "admin") { id } }`));
      await refused('NOT_FOUND', () => gw.gql(`mutation { disableUser(id: "nobody") { id } }`));
      const other = await createUserWithToken(gw, 'uno');
      await refused('FORBIDDEN', () => gw.gql(`mutation { disableUser(id: "ula") { id } }`, {}, { token: other }));
      await refused('FORBIDDEN', () => gw.gql(`mutation { enableUser(id: "ula") { id } }`, {}, { token: other }));
    });

    it('deleteUser revokes its tokens, ends its memberships and deletes its bindings in every tenant, each audited', async () => {
      const token = await createUserWithToken(gw, 'uri');
      const tokenId = token.split('_')[1] ?? '';
      await createTenant(gw, 'gov2');
      for (const tenant of ['gov', 'gov2']) {
        expectData(await gw.gql(`mutation { createGroup(input: {id: "uri-team"}) { id } }`, {}, { tenant }));
        expectData(await gw.gql(`mutation { addGroupMember(groupId: "uri-team", userId: "uri") { id } }`, {}, { tenant }));
      }
      const bindings = [
        await bind(gw, 'gov', { principalType: 'USER', principalId: 'uri', roleId: 'viewer' }),
        await bind(gw, 'gov2', { principalType: 'USER', principalId: 'uri', roleId: 'developer', namespace: 'team' }),
      ];
      await refused('CONFLICT', () => gw.gql(`mutation { deleteUser(id: "uri", expectedRevision: 5) }`));
      await refused('BAD_USER_INPUT', () => gw.gql(`mutation { deleteUser(id: "admin") }`));
      await refused('NOT_FOUND', () => gw.gql(`mutation { deleteUser(id: "nobody") }`));
      await refused('FORBIDDEN', () => gw.gql(`mutation { deleteUser(id: "uri") }`, {}, { token }));

      expect(expectData(await gw.gql(`mutation { deleteUser(id: "uri", expectedRevision: 1) }`)).deleteUser).toBe(true);
      expect((await auditOf(null, 'USER', 'uri')).at(-1)).toMatchObject({ eventType: 'UserDeleted', action: 'DELETE' });
      expect(expectData(await gw.gql(`{ user(id: "uri") { id } }`)).user).toBeNull();
      expect((await auditOf(null, 'API_TOKEN', tokenId)).map((e) => e.eventType)).toEqual(['ApiTokenCreated', 'ApiTokenRevoked']);
      const tokens = expectData(
        await gw.gql<{ apiTokens: { id: string; revoked: boolean }[] }>(`{ apiTokens(principalId: "uri") { id revoked } }`),
      );
      expect(tokens.apiTokens.find((t) => t.id === tokenId)?.revoked).toBe(true);
      for (const [i, tenant] of ['gov', 'gov2'].entries()) {
        const group = expectData(
          await gw.gql<{ group: { members: string[] } }>(`{ group(id: "uri-team") { members } }`, {}, { tenant }),
        ).group;
        expect(group.members).toEqual([]);
        expect((await auditOf(tenant, 'GROUP', 'uri-team')).at(-1)).toMatchObject({
          eventType: 'GroupMemberRemoved',
          action: 'REMOVE_MEMBER',
        });
        expect(
          expectData(await gw.gql<{ bindings: unknown[] }>(`{ bindings(principalId: "uri") { id } }`, {}, { tenant })).bindings,
        ).toEqual([]);
        expect((await auditOf(tenant, 'BINDING', bindings[i] ?? '')).map((e) => e.action)).toEqual(['GRANT', 'REVOKE']);
      }
    });
  });

  describe('groups', () => {
    const GROUP = `id name description members disabled revision`;
    const T = { tenant: 'gov' };

    /** What the user holds through group `g` (effectivePermissions' `via`). */
    async function viaGroup(userId: string, group: string, asOf: string | null = null): Promise<string[]> {
      const result = await gw.gql<{ effectivePermissions: { resource: string; action: string; via: string }[] }>(
        `query($p: ID!, $asOf: DateTime) { effectivePermissions(principalId: $p, asOf: $asOf) { resource action via } }`,
        { p: userId, asOf },
        T,
      );
      return expectData(result)
        .effectivePermissions.filter((p) => p.via.startsWith(`group:${group} `))
        .map((p) => `${p.resource}:${p.action}`);
    }

    /** A user holding only the given permissions in gov, through a custom role. */
    async function userWith(id: string, permissions: { resource: string; actions: string[] }[]): Promise<string> {
      const token = await createUserWithToken(gw, id);
      expectData(
        await gw.gql(`mutation($i: CreateRoleInput!) { createRole(input: $i) { id } }`, { i: { id: `${id}-role`, permissions } }, T),
      );
      await bind(gw, 'gov', { principalType: 'USER', principalId: id, roleId: `${id}-role` });
      return token;
    }

    it('group(id), updateGroup (audited with before/after), refusals write nothing', async () => {
      expectData(await gw.gql(`mutation { createGroup(input: {id: "ops", name: "Ops"}) { id } }`, {}, T));
      expect(expectData(await gw.gql(`{ group(id: "ops") { ${GROUP} } }`, {}, T)).group).toMatchObject({
        id: 'ops',
        disabled: false,
        revision: 1,
      });
      const updated = expectData(
        await gw.gql<{ updateGroup: { name: string; description: string; revision: number } }>(
          `mutation { updateGroup(id: "ops", input: {name: "Operations", description: "on call"}, expectedRevision: 1) { ${GROUP} } }`,
          {},
          T,
        ),
      ).updateGroup;
      expect(updated).toMatchObject({ name: 'Operations', description: 'on call', revision: 2 });
      expect((await auditOf('gov', 'GROUP', 'ops')).at(-1)).toMatchObject({
        eventType: 'GroupUpdated',
        action: 'UPDATE',
        changes: { name: { before: 'Ops', after: 'Operations' }, description: { before: null, after: 'on call' } },
      });
      const stale = await refused('CONFLICT', () =>
        gw.gql(`mutation { updateGroup(id: "ops", input: {name: "x"}, expectedRevision: 1) { id } }`, {}, T),
      );
      expect(stale.errors?.[0]?.extensions['actualRevision']).toBe(2);
      await refused('BAD_USER_INPUT', () => gw.gql(`mutation { updateGroup(id: "ops", input: {name: "  "}) { id } }`, {}, T));
      await refused('NOT_FOUND', () => gw.gql(`mutation { updateGroup(id: "nope", input: {name: "x"}) { id } }`, {}, T));
      const viewer = await userWith('gviewer', [{ resource: 'GROUP', actions: ['VIEW', 'LIST'] }]);
      await refused('FORBIDDEN', () =>
        gw.gql(`mutation { updateGroup(id: "ops", input: {name: "x"}) { id } }`, {}, { ...T, token: viewer }),
      );
      await refused('FORBIDDEN', () => gw.gql(`mutation { disableGroup(id: "ops") { id } }`, {}, { ...T, token: viewer }));
    });

    it('disableGroup: its bindings grant its members nothing (effectivePermissions); enableGroup needs what binding would', async () => {
      await createUserWithToken(gw, 'gina');
      expectData(await gw.gql(`mutation { createGroup(input: {id: "devs"}) { id } }`, {}, T));
      expectData(await gw.gql(`mutation { addGroupMember(groupId: "devs", userId: "gina", expectedRevision: 1) { id } }`, {}, T));
      await bind(gw, 'gov', { principalType: 'GROUP', principalId: 'devs', roleId: 'developer' });
      expect(await viaGroup('gina', 'devs')).toContain('FLOW:CREATE');

      const disabled = expectData(
        await gw.gql<{ disableGroup: { disabled: boolean; revision: number; updatedAt: string } }>(
          `mutation { disableGroup(id: "devs", expectedRevision: 2) { ${GROUP} updatedAt } }`,
          {},
          T,
        ),
      ).disableGroup;
      expect(disabled).toMatchObject({ disabled: true, revision: 3 });
      expect(await viaGroup('gina', 'devs')).toEqual([]);
      const ofGroup = await gw.gql<{ effectivePermissions: unknown[] }>(
        `{ effectivePermissions(principalId: "devs", principalType: GROUP) { via } }`,
        {},
        T,
      );
      expect(expectData(ofGroup).effectivePermissions).toEqual([]);

      // GROUP:UPDATE alone cannot give the members the developer role back: enabling needs what binding it would.
      const groupAdmin = await userWith('gadmin', [{ resource: 'GROUP', actions: ['VIEW', 'LIST', 'UPDATE'] }]);
      const noCreate = await refused('FORBIDDEN', () =>
        gw.gql(`mutation { enableGroup(id: "devs") { id } }`, {}, { ...T, token: groupAdmin }),
      );
      expect(noCreate.errors?.[0]?.extensions['permission']).toBe('BINDING:CREATE');
      const binder = await userWith('gbinder', [
        { resource: 'GROUP', actions: ['VIEW', 'LIST', 'UPDATE'] },
        { resource: 'BINDING', actions: ['CREATE'] },
      ]);
      const escalating = await refused('FORBIDDEN', () =>
        gw.gql(`mutation { enableGroup(id: "devs") { id } }`, {}, { ...T, token: binder }),
      );
      expect(escalating.errors?.[0]?.extensions['permission']).toBe('BINDING:ESCALATE');
      expect(escalating.errors?.[0]?.message).toMatch(/enabling group devs would grant .*FLOW:CREATE/);
      // Nor can it join a disabled group whose bindings it does not hold: enabling would hand them out later.
      const joining = await refused('FORBIDDEN', () =>
        gw.gql(`mutation { addGroupMember(groupId: "devs", userId: "gadmin") { id } }`, {}, { ...T, token: groupAdmin }),
      );
      expect(joining.errors?.[0]?.extensions['permission']).toBe('BINDING:ESCALATE');
      await refused('CONFLICT', () => gw.gql(`mutation { enableGroup(id: "devs", expectedRevision: 2) { id } }`, {}, T));

      expect(
        expectData(
          await gw.gql<{ enableGroup: { disabled: boolean } }>(
            `mutation { enableGroup(id: "devs", expectedRevision: 3) { disabled } }`,
            {},
            T,
          ),
        ).enableGroup.disabled,
      ).toBe(false);
      expect(await viaGroup('gina', 'devs')).toContain('FLOW:CREATE');
      // Time travel replays the disable too: while it was disabled, the group gave nothing.
      expect(await viaGroup('gina', 'devs', disabled.updatedAt)).toEqual([]);
      expect((await auditOf('gov', 'GROUP', 'devs')).map((e) => `${e.eventType}:${e.action}`)).toEqual([
        'GroupCreated:CREATE',
        'GroupMemberAdded:ADD_MEMBER',
        'GroupDisabled:UPDATE',
        'GroupEnabled:UPDATE',
      ]);
    });

    it('deleteGroup deletes its bindings and memberships, each in the audit log; refusals delete nothing', async () => {
      await createUserWithToken(gw, 'gus');
      expectData(await gw.gql(`mutation { createGroup(input: {id: "temp"}) { id } }`, {}, T));
      expectData(await gw.gql(`mutation { addGroupMember(groupId: "temp", userId: "gus") { id } }`, {}, T));
      const bindingId = await bind(gw, 'gov', { principalType: 'GROUP', principalId: 'temp', roleId: 'viewer' });

      await refused('CONFLICT', () => gw.gql(`mutation { deleteGroup(id: "temp", expectedRevision: 1) }`, {}, T));
      // GROUP:DELETE without BINDING:DELETE cannot take the group's bindings with it.
      const deleter = await userWith('gdeleter', [{ resource: 'GROUP', actions: ['VIEW', 'DELETE'] }]);
      await refused('FORBIDDEN', () => gw.gql(`mutation { deleteGroup(id: "temp") }`, {}, { ...T, token: deleter }));
      await refused('NOT_FOUND', () => gw.gql(`mutation { deleteGroup(id: "nope") }`, {}, T));

      expect(expectData(await gw.gql(`mutation { deleteGroup(id: "temp", expectedRevision: 2) }`, {}, T)).deleteGroup).toBe(true);
      expect(expectData(await gw.gql(`{ group(id: "temp") { id } }`, {}, T)).group).toBeNull();
      expect(expectData(await gw.gql<{ bindings: unknown[] }>(`{ bindings(principalId: "temp") { id } }`, {}, T)).bindings).toEqual([]);
      expect(await viaGroup('gus', 'temp')).toEqual([]);
      expect((await auditOf('gov', 'GROUP', 'temp')).map((e) => `${e.eventType}:${e.action}`)).toEqual([
        'GroupCreated:CREATE',
        'GroupMemberAdded:ADD_MEMBER',
        'GroupMemberRemoved:REMOVE_MEMBER',
        'GroupDeleted:DELETE',
      ]);
      expect((await auditOf('gov', 'BINDING', bindingId)).map((e) => `${e.eventType}:${e.action}`)).toEqual([
        'BindingCreated:GRANT',
        'BindingDeleted:REVOKE',
      ]);
      await refused('CONFLICT', () => gw.gql(`mutation { createGroup(input: {id: "temp"}) { id } }`, {}, T));
    });
  });

  describe('service accounts', () => {
    const SA = `id name description disabled revision createdAt createdBy updatedAt`;
    const T = { tenant: 'gov' };

    it('serviceAccount(id), updateServiceAccount (audited), disable stops its tokens, enable needs what binding would', async () => {
      const { token } = await serviceAccountToken(gw, 'gov', 'robot');
      await bind(gw, 'gov', { principalType: 'SERVICE_ACCOUNT', principalId: 'robot', roleId: 'developer' });
      expect(expectData(await gw.gql(`{ serviceAccount(id: "robot") { ${SA} } }`, {}, T)).serviceAccount).toMatchObject({
        id: 'robot',
        disabled: false,
        revision: 1,
        createdBy: 'admin',
      });
      const updated = expectData(
        await gw.gql<{ updateServiceAccount: { name: string; revision: number; createdBy: string } }>(
          `mutation { updateServiceAccount(id: "robot", input: {name: "CI robot", description: "deploys"}, expectedRevision: 1) { ${SA} } }`,
          {},
          T,
        ),
      ).updateServiceAccount;
      expect(updated).toMatchObject({ name: 'CI robot', revision: 2, createdBy: 'admin' });
      expect((await auditOf('gov', 'SERVICE_ACCOUNT', 'robot')).at(-1)).toMatchObject({
        eventType: 'ServiceAccountUpdated',
        changes: { name: { before: 'robot', after: 'CI robot' }, description: { before: null, after: 'deploys' } },
      });
      await refused('CONFLICT', () =>
        gw.gql(`mutation { updateServiceAccount(id: "robot", input: {name: "x"}, expectedRevision: 1) { id } }`, {}, T),
      );
      await refused('BAD_USER_INPUT', () => gw.gql(`mutation { updateServiceAccount(id: "robot", input: {name: ""}) { id } }`, {}, T));
      await refused('NOT_FOUND', () => gw.gql(`mutation { disableServiceAccount(id: "nobody") { id } }`, {}, T));

      expect((await gw.gql(`{ namespaces { id } }`, {}, { ...T, token })).status).toBe(200);
      const disabled = expectData(
        await gw.gql<{ disableServiceAccount: { disabled: boolean; revision: number } }>(
          `mutation { disableServiceAccount(id: "robot", expectedRevision: 2) { disabled revision } }`,
          {},
          T,
        ),
      ).disableServiceAccount;
      expect(disabled).toEqual({ disabled: true, revision: 3 });
      const refusedToken = await gw.gql(`{ namespaces { id } }`, {}, { ...T, token });
      expect(refusedToken.status).toBe(401);
      expect(errorCode(refusedToken)).toBe('UNAUTHENTICATED');

      // SERVICE_ACCOUNT:UPDATE and BINDING:CREATE, without the developer rights its binding gives: enabling would escalate.
      const saAdmin = await createUserWithToken(gw, 'saadmin');
      expectData(
        await gw.gql(
          `mutation($i: CreateRoleInput!) { createRole(input: $i) { id } }`,
          {
            i: {
              id: 'sa-admin',
              permissions: [
                { resource: 'SERVICE_ACCOUNT', actions: ['VIEW', 'UPDATE'] },
                { resource: 'BINDING', actions: ['CREATE'] },
              ],
            },
          },
          T,
        ),
      );
      await bind(gw, 'gov', { principalType: 'USER', principalId: 'saadmin', roleId: 'sa-admin' });
      const escalating = await refused('FORBIDDEN', () =>
        gw.gql(`mutation { enableServiceAccount(id: "robot") { id } }`, {}, { ...T, token: saAdmin }),
      );
      expect(escalating.errors?.[0]?.extensions['permission']).toBe('BINDING:ESCALATE');
      // Disabling takes rights away: SERVICE_ACCOUNT:UPDATE is enough (a no-op here, it is disabled already).
      expectData(await gw.gql(`mutation { disableServiceAccount(id: "robot") { id } }`, {}, { ...T, token: saAdmin }));

      expectData(await gw.gql(`mutation { enableServiceAccount(id: "robot", expectedRevision: 3) { id } }`, {}, T));
      expect((await gw.gql(`{ namespaces { id } }`, {}, { ...T, token })).status).toBe(200);
      expect((await auditOf('gov', 'SERVICE_ACCOUNT', 'robot')).map((e) => `${e.eventType}:${e.action}`)).toEqual([
        'ServiceAccountCreated:CREATE',
        'ServiceAccountUpdated:UPDATE',
        'ServiceAccountDisabled:UPDATE',
        'ServiceAccountEnabled:UPDATE',
      ]);
      const viewer = await createUserWithToken(gw, 'saviewer');
      await bind(gw, 'gov', { principalType: 'USER', principalId: 'saviewer', roleId: 'viewer' });
      await refused('FORBIDDEN', () => gw.gql(`mutation { disableServiceAccount(id: "robot") { id } }`, {}, { ...T, token: viewer }));
      await refused('FORBIDDEN', () =>
        gw.gql(`mutation { updateServiceAccount(id: "robot", input: {name: "x"}) { id } }`, {}, { ...T, token: viewer }),
      );
    });

    it('deleteServiceAccount revokes its tokens and deletes its bindings, each audited; refusals delete nothing', async () => {
      const { token, tokenId } = await serviceAccountToken(gw, 'gov', 'old-bot');
      const bindingId = await bind(gw, 'gov', { principalType: 'SERVICE_ACCOUNT', principalId: 'old-bot', roleId: 'viewer' });
      await refused('CONFLICT', () => gw.gql(`mutation { deleteServiceAccount(id: "old-bot", expectedRevision: 3) }`, {}, T));
      await refused('NOT_FOUND', () => gw.gql(`mutation { deleteServiceAccount(id: "no-bot") }`, {}, T));
      // SERVICE_ACCOUNT:DELETE without BINDING:DELETE cannot take its bindings with it.
      const deleter = await createUserWithToken(gw, 'sadeleter');
      expectData(
        await gw.gql(
          `mutation { createRole(input: {id: "sa-deleter", permissions: [{resource: "SERVICE_ACCOUNT", actions: ["VIEW", "DELETE"]}]}) { id } }`,
          {},
          T,
        ),
      );
      await bind(gw, 'gov', { principalType: 'USER', principalId: 'sadeleter', roleId: 'sa-deleter' });
      await refused('FORBIDDEN', () => gw.gql(`mutation { deleteServiceAccount(id: "old-bot") }`, {}, { ...T, token: deleter }));

      expect(
        expectData(await gw.gql(`mutation { deleteServiceAccount(id: "old-bot", expectedRevision: 1) }`, {}, T)).deleteServiceAccount,
      ).toBe(true);
      expect((await auditOf('gov', 'SERVICE_ACCOUNT', 'old-bot')).at(-1)).toMatchObject({
        eventType: 'ServiceAccountDeleted',
        action: 'DELETE',
      });
      expect((await auditOf('gov', 'API_TOKEN', tokenId)).map((e) => e.eventType)).toEqual(['ApiTokenCreated', 'ApiTokenRevoked']);
      expect((await auditOf('gov', 'BINDING', bindingId)).map((e) => e.action)).toEqual(['GRANT', 'REVOKE']);
      expect(expectData(await gw.gql<{ bindings: unknown[] }>(`{ bindings(principalId: "old-bot") { id } }`, {}, T)).bindings).toEqual([]);
      expect((await gw.gql(`{ namespaces { id } }`, {}, { ...T, token })).status).toBe(401);
    });
  });
});
