/**
 * Access control at the resolvers (executeOperation, test/support/operations.ts):
 * a caller without the right gets FORBIDDEN naming the permission, and
 * nothing is stored; what a caller may not see is left out of lists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../../src/auth/principal.js';
import { errorCode, expectData } from '../../support/gateway.js';
import { startResolverFixture, type ResolverFixture } from '../../support/operations.js';

const TENANT = 'acme';
const flowSource = (namespace: string, id: string): string =>
  `id: ${id}\nnamespace: ${namespace}\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`;

describe('access control at the resolvers (executeOperation, memory stores)', () => {
  let fx: ResolverFixture;
  /** Bound `viewer` on `company`. */
  let vera: Principal;
  /** A user of the instance with no binding in the tenant. */
  let nobody: Principal;

  beforeAll(async () => {
    fx = await startResolverFixture();
    await fx.createTenant(TENANT, 'Acme');
    for (const id of ['company', 'company.team', 'marketing']) {
      expectData(await fx.run(`mutation($id: ID!) { createNamespace(input: { id: $id }) { id } }`, { id }, { tenant: TENANT }));
    }
    for (const [namespace, id] of [
      ['company.team', 'etl'],
      ['marketing', 'campaign'],
    ] as const) {
      expectData(
        await fx.run(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: flowSource(namespace, id) }, { tenant: TENANT }),
      );
    }
    vera = await fx.createUser('vera');
    nobody = await fx.createUser('nobody');
    expectData(
      await fx.run(
        `mutation($input: CreateBindingInput!) { createBinding(input: $input) { id } }`,
        { input: { principalType: 'USER', principalId: 'vera', roleId: 'viewer', namespace: 'company' } },
        { tenant: TENANT },
      ),
    );
  });
  afterAll(async () => {
    await fx.dispose();
  });

  /** Runs a mutation as `as` that must be refused with FORBIDDEN naming `permission`, and checks the log did not move. */
  async function expectForbidden(as: Principal, query: string, variables: Record<string, unknown>, permission: string): Promise<void> {
    const before = await fx.eventCount();
    const result = await fx.run(query, variables, { as, tenant: TENANT });
    expect(errorCode(result), JSON.stringify(result.errors)).toBe('FORBIDDEN');
    expect(result.errors?.[0]?.extensions['permission']).toBe(permission);
    expect(result.position).toBe(0);
    expect(await fx.eventCount()).toBe(before);
  }

  it('a viewer reads the flows of its subtree, and nothing outside it', async () => {
    const data = expectData(
      await fx.run<{ namespaces: { id: string }[]; flows: { totalCount: number; edges: { node: { id: string } }[] }; flow: null }>(
        `{ namespaces { id } flows(first: 10) { totalCount edges { node { id } } } flow(namespace: "marketing", id: "campaign") { id } }`,
        {},
        { as: vera, tenant: TENANT },
      ),
    );
    expect(data.namespaces.map((n) => n.id)).toEqual(['company', 'company.team']);
    expect(data.flows).toEqual({ totalCount: 1, edges: [{ node: { id: 'etl' } }] });
    expect(data.flow).toBeNull();
  });

  it('a viewer may not create or update a flow, put a secret or create a namespace: FORBIDDEN, nothing stored', async () => {
    await expectForbidden(
      vera,
      `mutation($s: String!) { createFlow(source: $s) { id } }`,
      { s: flowSource('company.team', 'sneaky') },
      'FLOW:CREATE',
    );
    await expectForbidden(
      vera,
      `mutation($s: String!) { updateFlow(namespace: "company.team", id: "etl", source: $s) { id } }`,
      { s: flowSource('company.team', 'etl').replace('hi', 'changed') },
      'FLOW:UPDATE',
    );
    await expectForbidden(
      vera,
      `mutation($input: PutSecretInput!) { putSecret(input: $input) { key } }`,
      { input: { namespace: 'company', key: 'TOKEN', value: 'v' } },
      'SECRET:CREATE',
    );
    await expectForbidden(vera, `mutation { createNamespace(input: { id: "company.sneaky" }) { id } }`, {}, 'NAMESPACE:CREATE');
    const flow = expectData(
      await fx.run<{ flow: { revision: number; source: string } }>(
        `{ flow(namespace: "company.team", id: "etl") { revision source } }`,
        {},
        { tenant: TENANT },
      ),
    ).flow;
    expect(flow).toEqual({ revision: 1, source: flowSource('company.team', 'etl') });
    expect(
      expectData(await fx.run<{ secrets: unknown[] }>(`{ secrets(namespace: "company") { key } }`, {}, { tenant: TENANT })).secrets,
    ).toEqual([]);
  });

  it('to a user without a binding the tenant does not exist: TENANT_NOT_FOUND for reads and writes, nothing stored', async () => {
    const before = await fx.eventCount();
    for (const query of [
      `{ namespaces { id } }`,
      `{ flows(first: 10) { totalCount } }`,
      `mutation { createNamespace(input: { id: "x" }) { id } }`,
    ]) {
      const result = await fx.run(query, {}, { as: nobody, tenant: TENANT });
      expect(errorCode(result), query).toBe('TENANT_NOT_FOUND');
      expect(result.errors?.[0]?.extensions['tenantId']).toBe(TENANT);
    }
    expect(await fx.eventCount()).toBe(before);
  });

  it('a user who is not an instance admin may not create a tenant or a user', async () => {
    const before = await fx.eventCount();
    const tenant = await fx.run(`mutation { createTenant(input: { id: "mine", name: "Mine" }) { id } }`, {}, { as: vera, tenant: null });
    expect(errorCode(tenant)).toBe('FORBIDDEN');
    const user = await fx.run(
      `mutation { createUser(input: { id: "eve", email: "eve@example.com" }) { id } }`,
      {},
      { as: vera, tenant: null },
    );
    expect(errorCode(user)).toBe('FORBIDDEN');
    expect(await fx.eventCount()).toBe(before);
  });
});
