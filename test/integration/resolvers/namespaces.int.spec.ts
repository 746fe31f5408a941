/**
 * Namespace resolvers through Apollo's executeOperation (test/support/operations.ts):
 * real schema, real services, memory stores; no gateway.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, expectData } from '../../support/gateway.js';
import { startResolverFixture, type ResolverFixture } from '../../support/operations.js';

interface NamespaceResult {
  id: string;
  existing: boolean;
  description: string | null;
  revision: number;
  variables: Record<string, unknown>;
  inheritedVariables: Record<string, unknown>;
}

const NAMESPACE_FIELDS = 'id existing description revision variables inheritedVariables';

describe('namespace resolvers (executeOperation, memory stores)', () => {
  let fx: ResolverFixture;
  let tenantSeq = 0;

  beforeAll(async () => {
    fx = await startResolverFixture();
  });
  afterAll(async () => {
    await fx.dispose();
  });

  const newTenant = (): Promise<string> => fx.createTenant(`ns-${++tenantSeq}`);

  const createNamespace = (tenant: string, id: string, description: string | null = null) =>
    fx.run<{ createNamespace: NamespaceResult }>(
      `mutation($input: CreateNamespaceInput!) { createNamespace(input: $input) { ${NAMESPACE_FIELDS} } }`,
      { input: { id, description } },
      { tenant },
    );

  const list = async (tenant: string, args = '') =>
    expectData(await fx.run<{ namespaces: { id: string; existing: boolean }[] }>(`{ namespaces${args} { id existing } }`, {}, { tenant }))
      .namespaces;

  it('creates a namespace and answers it as stored, revision 1, with the position it reached', async () => {
    const t = await newTenant();
    const before = await fx.eventCount();
    const result = await createNamespace(t, 'company', 'The company');
    expect(expectData(result).createNamespace).toEqual({
      id: 'company',
      existing: true,
      description: 'The company',
      revision: 1,
      variables: {},
      inheritedVariables: {},
    });
    expect(result.position).toBeGreaterThan(before);
    expect(await fx.eventCount()).toBeGreaterThan(before);
    const read = expectData(
      await fx.run<{ namespace: NamespaceResult }>(`{ namespace(id: "company") { ${NAMESPACE_FIELDS} } }`, {}, { tenant: t }),
    );
    expect(read.namespace).toMatchObject({ id: 'company', existing: true, description: 'The company', revision: 1 });
  });

  it('lists namespaces by id, filters by prefix, and keeps tenants apart', async () => {
    const t = await newTenant();
    const other = await newTenant();
    for (const id of ['company.team', 'company', 'acme']) expectData(await createNamespace(t, id));
    expectData(await createNamespace(other, 'elsewhere'));
    expect(await list(t)).toEqual([
      { id: 'acme', existing: true },
      { id: 'company', existing: true },
      { id: 'company.team', existing: true },
    ]);
    expect((await list(t, '(prefix: "company")')).map((n) => n.id)).toEqual(['company', 'company.team']);
    expect(await list(other)).toEqual([{ id: 'elsewhere', existing: true }]);
  });

  it('a nested namespace inherits the variables of its ancestors, the nearest winning', async () => {
    const t = await newTenant();
    expectData(await createNamespace(t, 'company'));
    expectData(await createNamespace(t, 'company.team'));
    const setVariable = (id: string, key: string, value: unknown) =>
      fx.run(
        `mutation($id: ID!, $key: String!, $value: JSON!) { setNamespaceVariable(id: $id, key: $key, value: $value) { revision } }`,
        { id, key, value },
        { tenant: t },
      );
    expectData(await setVariable('company', 'region', 'eu'));
    expectData(await setVariable('company', 'tier', 'gold'));
    expectData(await setVariable('company.team', 'tier', 'silver'));
    const team = expectData(
      await fx.run<{ namespace: NamespaceResult & { inheritedVariableSources: { key: string; value: unknown; namespace: string }[] } }>(
        `{ namespace(id: "company.team") { ${NAMESPACE_FIELDS} inheritedVariableSources { key value namespace } } }`,
        {},
        { tenant: t },
      ),
    ).namespace;
    expect(team.variables).toEqual({ tier: 'silver' });
    expect(team.inheritedVariables).toEqual({ region: 'eu', tier: 'silver' });
    expect(team.inheritedVariableSources).toEqual(
      expect.arrayContaining([
        { key: 'region', value: 'eu', namespace: 'company' },
        { key: 'tier', value: 'silver', namespace: 'company.team' },
      ]),
    );
    expect(team.revision).toBe(2);
  });

  it('refuses a second namespace with the same id (CONFLICT) and an invalid id (BAD_USER_INPUT), writing nothing', async () => {
    const t = await newTenant();
    expectData(await createNamespace(t, 'company'));
    const before = await fx.eventCount();
    const twice = await createNamespace(t, 'company');
    expect(errorCode(twice)).toBe('CONFLICT');
    expect(twice.data).toEqual({ createNamespace: null });
    expect(errorCode(await createNamespace(t, 'Not A Namespace!'))).toBe('BAD_USER_INPUT');
    expect(await fx.eventCount()).toBe(before);
  });
});
