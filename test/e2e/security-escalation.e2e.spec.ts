/**
 * Adversarial: no privilege escalation by delegation (Kubernetes RBAC's
 * escalation rule). Alice manages access in tenant `esc` (bindings, groups,
 * roles, service accounts) but holds few rights herself. Every way of giving
 * someone (herself included) a right she does not hold at that scope is
 * refused with FORBIDDEN naming BINDING:ESCALATE, and writes nothing; giving
 * what she does hold still works, and so do BINDING:ESCALATE, the tenant's
 * admin and the instance admin's hand-over.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bind, createTenant, createUserWithToken } from '../support/access.js';
import { errorCode, expectData, startTestGateway, type GqlResult, type TestGateway } from '../support/gateway.js';

const T = 'esc';

describe('no privilege escalation by delegation', () => {
  let gw: TestGateway;
  let alice: string;
  let dave: string;

  const as = (token: string | undefined, query: string, variables: Record<string, unknown> = {}) =>
    gw.gql(query, variables, { tenant: T, token });

  const createRole = (id: string, permissions: { resource: string; actions: string[] }[], token?: string) =>
    as(token, `mutation($input: CreateRoleInput!) { createRole(input: $input) { id } }`, { input: { id, name: id, permissions } });

  const createBinding = (principalType: string, principalId: string, roleId: string, namespace: string | null, token?: string) =>
    as(token, `mutation($input: CreateBindingInput!) { createBinding(input: $input) { id } }`, {
      input: { principalType, principalId, roleId, namespace },
    });

  /** Refused as an escalation, and the event log did not grow. */
  async function expectEscalationRefused(attempt: () => Promise<GqlResult<unknown>>): Promise<GqlResult<unknown>> {
    const before = await gw.eventCount();
    const result = await attempt();
    expect(errorCode(result), JSON.stringify(result.errors)).toBe('FORBIDDEN');
    expect(result.errors?.[0]?.extensions['permission']).toBe('BINDING:ESCALATE');
    expect(await gw.eventCount()).toBe(before);
    return result;
  }

  beforeAll(async () => {
    gw = await startTestGateway();
    await createTenant(gw, T);
    alice = await createUserWithToken(gw, 'alice');
    dave = await createUserWithToken(gw, 'dave');
    for (const id of ['bob', 'carol']) await createUserWithToken(gw, id);
    // Alice: manages access, reads everything, and is a developer in `team` only.
    expectData(
      await createRole('access-manager', [
        { resource: 'NAMESPACE', actions: ['VIEW', 'LIST'] },
        { resource: 'FLOW', actions: ['VIEW', 'LIST'] },
        { resource: 'SECRET', actions: ['VIEW', 'LIST'] },
        { resource: 'ROLE', actions: ['VIEW', 'LIST', 'CREATE', 'UPDATE', 'DELETE'] },
        { resource: 'BINDING', actions: ['VIEW', 'LIST', 'CREATE', 'DELETE'] },
        { resource: 'GROUP', actions: ['VIEW', 'LIST', 'CREATE', 'UPDATE'] },
        { resource: 'SERVICE_ACCOUNT', actions: ['VIEW', 'LIST', 'CREATE', 'UPDATE'] },
      ]),
    );
    await bind(gw, T, { principalType: 'USER', principalId: 'alice', roleId: 'access-manager' });
    await bind(gw, T, { principalType: 'USER', principalId: 'alice', roleId: 'developer', namespace: 'team' });
    // Dave: may create bindings, and holds BINDING:ESCALATE.
    expectData(await createRole('escalator', [{ resource: 'BINDING', actions: ['VIEW', 'LIST', 'CREATE', 'ESCALATE'] }]));
    await bind(gw, T, { principalType: 'USER', principalId: 'dave', roleId: 'escalator' });
    // A group and a service account that hold more than alice.
    expectData(await as(undefined, `mutation { createGroup(input: {id: "ops", name: "Ops"}) { id } }`));
    await bind(gw, T, { principalType: 'GROUP', principalId: 'ops', roleId: 'developer' });
    expectData(await as(undefined, `mutation { createServiceAccount(input: {id: "deployer", name: "Deployer"}) { id } }`));
    await bind(gw, T, { principalType: 'SERVICE_ACCOUNT', principalId: 'deployer', roleId: 'admin' });
    // A custom role that is bound (carol reads flows through it).
    expectData(await createRole('reader', [{ resource: 'FLOW', actions: ['VIEW', 'LIST'] }]));
    await bind(gw, T, { principalType: 'USER', principalId: 'carol', roleId: 'reader' });
  });
  afterAll(async () => {
    await gw.dispose();
  });

  describe('bindings', () => {
    it('alice cannot bind herself `admin`', async () => {
      const refused = await expectEscalationRefused(() => createBinding('USER', 'alice', 'admin', null, alice));
      expect(refused.errors?.[0]?.message).toContain('BINDING:ESCALATE');
    });

    it('nor anyone else a role with rights she lacks tenant-wide (developer), nor on a namespace outside her own', async () => {
      await expectEscalationRefused(() => createBinding('USER', 'bob', 'developer', null, alice));
      await expectEscalationRefused(() => createBinding('USER', 'bob', 'developer', 'marketing', alice));
      await expectEscalationRefused(() => createBinding('GROUP', 'ops', 'admin', null, alice));
      await expectEscalationRefused(() => createBinding('SERVICE_ACCOUNT', 'deployer', 'developer', 'marketing', alice));
    });

    it('what she holds at that scope she may give: viewer tenant-wide, developer below `team`', async () => {
      expectData(await createBinding('USER', 'bob', 'viewer', null, alice));
      expectData(await createBinding('USER', 'bob', 'developer', 'team.etl', alice));
    });
  });

  it('adding a member to a group counts the group’s bindings (alice into `ops`, a developer group)', async () => {
    await expectEscalationRefused(() => as(alice, `mutation { addGroupMember(groupId: "ops", userId: "alice") { members } }`));
    await expectEscalationRefused(() => as(alice, `mutation { addGroupMember(groupId: "ops", userId: "bob") { members } }`));
    // A group whose bindings she holds: fine.
    expectData(await as(alice, `mutation { createGroup(input: {id: "readers", name: "Readers"}) { id } }`));
    expectData(await createBinding('GROUP', 'readers', 'viewer', null, alice));
    expectData(await as(alice, `mutation { addGroupMember(groupId: "readers", userId: "bob") { members } }`));
  });

  it('a token of a service account counts its bindings (deployer is an admin)', async () => {
    await expectEscalationRefused(() =>
      as(alice, `mutation { createApiToken(input: {principalId: "deployer", name: "mine", principalType: SERVICE_ACCOUNT}) { token } }`),
    );
    // A service account of her own, holding what she holds: fine.
    expectData(await as(alice, `mutation { createServiceAccount(input: {id: "helper", name: "Helper"}) { id } }`));
    expectData(await createBinding('SERVICE_ACCOUNT', 'helper', 'viewer', null, alice));
    expectData(await as(alice, `mutation { createApiToken(input: {principalId: "helper", name: "ok"}) { token } }`));
  });

  describe('roles', () => {
    it('widening a bound role is refused; narrowing it, and any role nobody is bound to, is not', async () => {
      await expectEscalationRefused(() =>
        as(
          alice,
          `mutation { updateRole(id: "reader", input: {permissions: [{resource: "FLOW", actions: ["VIEW", "LIST", "DELETE"]}]}) { revision } }`,
        ),
      );
      await expectEscalationRefused(() =>
        as(
          alice,
          `mutation { updateRole(id: "reader", input: {permissions: [{resource: "FLOW", actions: ["VIEW", "LIST"]}, {resource: "BINDING", actions: ["ESCALATE"]}]}) { revision } }`,
        ),
      );
      expectData(
        await as(
          alice,
          `mutation { updateRole(id: "reader", input: {permissions: [{resource: "FLOW", actions: ["VIEW"]}]}) { revision } }`,
        ),
      );
      // Unbound, a role grants nothing: alice may write it, but not bind it.
      expectData(await createRole('deleter', [{ resource: 'FLOW', actions: ['VIEW', 'DELETE'] }], alice));
      await expectEscalationRefused(() => createBinding('USER', 'alice', 'deleter', null, alice));
    });

    it('a role bound only on `team` may be widened with what alice holds on `team`', async () => {
      expectData(await createRole('team-reader', [{ resource: 'FLOW', actions: ['VIEW'] }], alice));
      expectData(await createBinding('USER', 'carol', 'team-reader', 'team', alice));
      expectData(
        await as(
          alice,
          `mutation { updateRole(id: "team-reader", input: {permissions: [{resource: "FLOW", actions: ["VIEW", "DELETE"]}]}) { revision } }`,
        ),
      );
    });
  });

  it('the refusals left alice with what she had: still no FLOW:CREATE outside `team`', async () => {
    const me = expectData(
      await gw.gql<{ me: { tenants: { id: string; permissions: string[] }[] } }>(
        `{ me { tenants { id permissions } } }`,
        {},
        { token: alice },
      ),
    );
    const permissions = me.me.tenants.find((t) => t.id === T)?.permissions ?? [];
    expect(permissions).not.toContain('BINDING:ESCALATE');
    const created = await as(alice, `mutation($s: String!) { createFlow(source: $s) { id } }`, {
      s: `id: x\nnamespace: marketing\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`,
    });
    expect(errorCode(created)).toBe('FORBIDDEN');
  });

  describe('who may escalate', () => {
    it('a holder of BINDING:ESCALATE may bind a role it does not hold', async () => {
      expectData(await createBinding('USER', 'bob', 'developer', null, dave));
    });

    it('the tenant’s admin may bind anything (it holds everything, BINDING:ESCALATE included)', async () => {
      expectData(await createBinding('USER', 'carol', 'admin', null));
    });

    it('an instance admin can still hand over a tenant it is not bound in', async () => {
      expectData(await gw.gql(`mutation { createTenant(input: {id: "handover", name: "Handover"}) { id } }`));
      expectData(
        await gw.gql(
          `mutation { createBinding(input: {principalType: USER, principalId: "bob", roleId: "admin"}) { id } }`,
          {},
          { tenant: 'handover' },
        ),
      );
    });
  });
});
