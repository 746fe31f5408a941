/**
 * Optimistic concurrency on every mutation that changes an existing thing:
 * each takes an optional `expectedRevision`. One table walks them all: with a
 * stale revision the answer is CONFLICT with `extensions.actualRevision` (the
 * revision the thing is at, as the client can read it) and the log does not
 * grow; with the right one the mutation goes through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, flowSource } from '../support/access.js';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

const T = 'occ';

interface Case {
  name: string;
  /** null: the instance endpoint. */
  tenant: string | null;
  /** Creates what the mutation changes; returns the revision a client reads for it, and variables for `doc`. */
  setup(n: number): Promise<{ revision: number; vars: Record<string, unknown> }>;
  /** The mutation, with `$rev: Int` for expectedRevision. */
  doc: string;
}

describe('expectedRevision on every mutation that changes an existing thing', () => {
  let gw: TestGateway;
  let n = 0;

  /** Runs a document that must succeed, returns its data. */
  async function ok<D = Record<string, unknown>>(doc: string, vars: Record<string, unknown> = {}, tenant: string | null = T): Promise<D> {
    return expectData(await gw.gql<D>(doc, vars, { tenant }));
  }

  const createdUser = async (id: string) =>
    (
      await ok<{ createUser: { revision: number } }>(
        `mutation($id: ID!) { createUser(input: {id: $id, email: "x@example.com"}) { revision } }`,
        { id },
        null,
      )
    ).createUser.revision;
  const createdGroup = async (id: string) =>
    (await ok<{ createGroup: { revision: number } }>(`mutation($id: ID!) { createGroup(input: {id: $id}) { revision } }`, { id }))
      .createGroup.revision;
  const createdAccount = async (id: string) =>
    (
      await ok<{ createServiceAccount: { revision: number } }>(
        `mutation($id: ID!) { createServiceAccount(input: {id: $id}) { revision } }`,
        { id },
      )
    ).createServiceAccount.revision;
  const createdFlow = async (id: string) =>
    (
      await ok<{ createFlow: { revision: number } }>(`mutation($s: String!) { createFlow(source: $s) { revision } }`, {
        s: flowSource('company', id),
      })
    ).createFlow.revision;
  const putSecret = async (key: string, rev?: number) =>
    (
      await ok<{ putSecret: { revision: number } }>(
        `mutation($key: String!, $rev: Int) { putSecret(input: {namespace: "company", key: $key, value: "v"}, expectedRevision: $rev) { revision } }`,
        { key, rev },
      )
    ).putSecret.revision;

  const cases: Case[] = [
    {
      name: 'deleteRole',
      tenant: T,
      doc: `mutation($id: ID!, $rev: Int) { deleteRole(id: $id, expectedRevision: $rev) }`,
      async setup(i) {
        const id = `role-${i}`;
        const role = await ok<{ createRole: { revision: number } }>(
          `mutation($id: ID!) { createRole(input: {id: $id, permissions: [{resource: "FLOW", actions: ["VIEW"]}]}) { revision } }`,
          { id },
        );
        return { revision: role.createRole.revision, vars: { id } };
      },
    },
    {
      name: 'deleteBinding',
      tenant: T,
      doc: `mutation($id: ID!, $rev: Int) { deleteBinding(id: $id, expectedRevision: $rev) }`,
      async setup(i) {
        await createdUser(`bound-${i}`);
        const binding = await ok<{ createBinding: { id: string; revision: number } }>(
          `mutation($p: ID!) { createBinding(input: {principalType: USER, principalId: $p, roleId: "viewer"}) { id revision } }`,
          { p: `bound-${i}` },
        );
        return { revision: binding.createBinding.revision, vars: { id: binding.createBinding.id } };
      },
    },
    {
      name: 'addGroupMember',
      tenant: T,
      doc: `mutation($g: ID!, $u: ID!, $rev: Int) { addGroupMember(groupId: $g, userId: $u, expectedRevision: $rev) { id } }`,
      async setup(i) {
        await createdUser(`member-${i}`);
        return { revision: await createdGroup(`group-${i}`), vars: { g: `group-${i}`, u: `member-${i}` } };
      },
    },
    {
      name: 'removeGroupMember',
      tenant: T,
      doc: `mutation($g: ID!, $u: ID!, $rev: Int) { removeGroupMember(groupId: $g, userId: $u, expectedRevision: $rev) { id } }`,
      async setup(i) {
        await createdUser(`member-${i}`);
        await createdGroup(`group-${i}`);
        const added = await ok<{ addGroupMember: { revision: number } }>(
          `mutation($g: ID!, $u: ID!) { addGroupMember(groupId: $g, userId: $u) { revision } }`,
          { g: `group-${i}`, u: `member-${i}` },
        );
        return { revision: added.addGroupMember.revision, vars: { g: `group-${i}`, u: `member-${i}` } };
      },
    },
    ...(['updateGroup', 'disableGroup', 'enableGroup', 'deleteGroup'] as const).map((name): Case => ({
      name,
      tenant: T,
      doc:
        name === 'updateGroup'
          ? `mutation($id: ID!, $rev: Int) { updateGroup(id: $id, input: {name: "renamed"}, expectedRevision: $rev) { id } }`
          : name === 'deleteGroup'
            ? `mutation($id: ID!, $rev: Int) { deleteGroup(id: $id, expectedRevision: $rev) }`
            : `mutation($id: ID!, $rev: Int) { ${name}(id: $id, expectedRevision: $rev) { id } }`,
      async setup(i) {
        const id = `group-${i}`;
        let revision = await createdGroup(id);
        if (name === 'enableGroup')
          revision = (await ok<{ disableGroup: { revision: number } }>(`mutation($id: ID!) { disableGroup(id: $id) { revision } }`, { id }))
            .disableGroup.revision;
        return { revision, vars: { id } };
      },
    })),
    ...(['updateServiceAccount', 'disableServiceAccount', 'enableServiceAccount', 'deleteServiceAccount'] as const).map((name): Case => ({
      name,
      tenant: T,
      doc:
        name === 'updateServiceAccount'
          ? `mutation($id: ID!, $rev: Int) { updateServiceAccount(id: $id, input: {name: "renamed"}, expectedRevision: $rev) { id } }`
          : name === 'deleteServiceAccount'
            ? `mutation($id: ID!, $rev: Int) { deleteServiceAccount(id: $id, expectedRevision: $rev) }`
            : `mutation($id: ID!, $rev: Int) { ${name}(id: $id, expectedRevision: $rev) { id } }`,
      async setup(i) {
        const id = `bot-${i}`;
        let revision = await createdAccount(id);
        if (name === 'enableServiceAccount')
          revision = (
            await ok<{ disableServiceAccount: { revision: number } }>(
              `mutation($id: ID!) { disableServiceAccount(id: $id) { revision } }`,
              { id },
            )
          ).disableServiceAccount.revision;
        return { revision, vars: { id } };
      },
    })),
    {
      name: 'revokeApiToken',
      tenant: T,
      doc: `mutation($id: ID!, $rev: Int) { revokeApiToken(id: $id, expectedRevision: $rev) }`,
      async setup(i) {
        await createdAccount(`tokened-${i}`);
        const token = await ok<{ createApiToken: { id: string; revision: number } }>(
          `mutation($p: ID!) { createApiToken(input: {principalId: $p, name: "ci"}) { id revision } }`,
          { p: `tokened-${i}` },
        );
        return { revision: token.createApiToken.revision, vars: { id: token.createApiToken.id } };
      },
    },
    {
      name: 'deleteFlow',
      tenant: T,
      doc: `mutation($id: ID!, $rev: Int) { deleteFlow(namespace: "company", id: $id, expectedRevision: $rev) { id } }`,
      async setup(i) {
        return { revision: await createdFlow(`flow-${i}`), vars: { id: `flow-${i}` } };
      },
    },
    {
      name: 'restoreFlowRevision',
      tenant: T,
      doc: `mutation($id: ID!, $rev: Int) { restoreFlowRevision(namespace: "company", id: $id, revision: 1, expectedRevision: $rev) { id } }`,
      async setup(i) {
        const id = `flow-${i}`;
        await createdFlow(id);
        const updated = await ok<{ updateFlow: { revision: number } }>(
          `mutation($id: ID!, $s: String!) { updateFlow(namespace: "company", id: $id, source: $s) { revision } }`,
          { id, s: `${flowSource('company', id)}description: changed\n` },
        );
        return { revision: updated.updateFlow.revision, vars: { id } };
      },
    },
    {
      name: 'putSecret (the secret exists)',
      tenant: T,
      doc: `mutation($key: String!, $rev: Int) { putSecret(input: {namespace: "company", key: $key, value: "new"}, expectedRevision: $rev) { key } }`,
      async setup(i) {
        return { revision: await putSecret(`KEY_${i}`), vars: { key: `KEY_${i}` } };
      },
    },
    {
      name: 'deleteSecret',
      tenant: T,
      doc: `mutation($key: String!, $rev: Int) { deleteSecret(namespace: "company", key: $key, expectedRevision: $rev) }`,
      async setup(i) {
        return { revision: await putSecret(`KEY_${i}`), vars: { key: `KEY_${i}` } };
      },
    },
    {
      name: 'setNamespaceDefaultAuthentication',
      tenant: T,
      doc: `mutation($id: ID!, $rev: Int) { setNamespaceDefaultAuthentication(id: $id, input: {provider: "aws", secretRefs: {accessKeyId: "AWS_KEY"}}, expectedRevision: $rev) { id } }`,
      async setup(i) {
        const id = `company.auth${i}`;
        const created = await ok<{ createNamespace: { revision: number } }>(
          `mutation($id: ID!) { createNamespace(input: {id: $id}) { revision } }`,
          { id },
        );
        return { revision: created.createNamespace.revision, vars: { id } };
      },
    },
    {
      name: 'unsetNamespaceDefaultAuthentication',
      tenant: T,
      doc: `mutation($id: ID!, $rev: Int) { unsetNamespaceDefaultAuthentication(id: $id, provider: "aws", expectedRevision: $rev) { id } }`,
      async setup(i) {
        const id = `company.auth${i}`;
        await ok(`mutation($id: ID!) { createNamespace(input: {id: $id}) { id } }`, { id });
        const set = await ok<{ setNamespaceDefaultAuthentication: { revision: number } }>(
          `mutation($id: ID!) { setNamespaceDefaultAuthentication(id: $id, input: {provider: "aws", serviceAccountId: null, secretRefs: {accessKeyId: "AWS_KEY"}}) { revision } }`,
          { id },
        );
        return { revision: set.setNamespaceDefaultAuthentication.revision, vars: { id } };
      },
    },
    {
      name: 'deleteTenant',
      tenant: null,
      doc: `mutation($id: ID!, $rev: Int) { deleteTenant(id: $id, expectedRevision: $rev) { id } }`,
      async setup(i) {
        const id = `doomed-${i}`;
        await createTenant(gw, id);
        const read = await ok<{ tenant: { revision: number } }>(`query($id: ID!) { tenant(id: $id) { revision } }`, { id }, null);
        return { revision: read.tenant.revision, vars: { id } };
      },
    },
    {
      name: 'restoreTenant',
      tenant: null,
      doc: `mutation($id: ID!, $rev: Int) { restoreTenant(id: $id, expectedRevision: $rev) { id } }`,
      async setup(i) {
        const id = `doomed-${i}`;
        await createTenant(gw, id);
        const deleted = await ok<{ deleteTenant: { revision: number } }>(
          `mutation($id: ID!) { deleteTenant(id: $id) { revision } }`,
          { id },
          null,
        );
        return { revision: deleted.deleteTenant.revision, vars: { id } };
      },
    },
    ...(['updateUser', 'disableUser', 'enableUser', 'deleteUser'] as const).map((name): Case => ({
      name,
      tenant: null,
      doc:
        name === 'updateUser'
          ? `mutation($id: ID!, $rev: Int) { updateUser(id: $id, input: {name: "renamed"}, expectedRevision: $rev) { id } }`
          : name === 'deleteUser'
            ? `mutation($id: ID!, $rev: Int) { deleteUser(id: $id, expectedRevision: $rev) }`
            : `mutation($id: ID!, $rev: Int) { ${name}(id: $id, expectedRevision: $rev) { id } }`,
      async setup(i) {
        const id = `person-${i}`;
        let revision = await createdUser(id);
        if (name === 'enableUser')
          revision = (
            await ok<{ disableUser: { revision: number } }>(`mutation($id: ID!) { disableUser(id: $id) { revision } }`, { id }, null)
          ).disableUser.revision;
        return { revision, vars: { id } };
      },
    })),
  ];

  beforeAll(async () => {
    gw = await startTestGateway();
    await createTenant(gw, T);
    await ok(`mutation { createNamespace(input: {id: "company"}) { id } }`);
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it.each(cases)('$name: a stale revision is CONFLICT with actualRevision and writes nothing; the right one goes through', async (c) => {
    const { revision, vars } = await c.setup(++n);
    expect(revision).toBeGreaterThan(0);
    for (const stale of [revision - 1, revision + 1]) {
      const before = await gw.eventCount();
      const refused = await gw.gql(c.doc, { ...vars, rev: stale }, { tenant: c.tenant });
      expect(refused.errors?.[0]?.extensions.code, JSON.stringify(refused.errors)).toBe('CONFLICT');
      expect(refused.errors?.[0]?.extensions['actualRevision']).toBe(revision);
      expect(await gw.eventCount()).toBe(before);
    }
    const before = await gw.eventCount();
    expectData(await gw.gql(c.doc, { ...vars, rev: revision }, { tenant: c.tenant }));
    expect(await gw.eventCount()).toBeGreaterThan(before);
  });

  it('putSecret on a key never used: expectedRevision 0 creates it, any other is CONFLICT with actualRevision 0', async () => {
    const before = await gw.eventCount();
    const refused = await gw.gql(
      `mutation { putSecret(input: {namespace: "company", key: "FRESH", value: "v"}, expectedRevision: 1) { key } }`,
      {},
      { tenant: T },
    );
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', actualRevision: 0 });
    expect(await gw.eventCount()).toBe(before);
    expect(await putSecret('FRESH', 0)).toBe(1);
  });
});
