import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

describe('tenants and namespaces over GraphQL (real HTTP, SQLite log)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('creates tenant acme, a namespace in it, and lists it at once; main does not see it', async () => {
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    const created = await gw.gql<{ createNamespace: { id: string; revision: number } }>(
      `mutation { createNamespace(input: {id: "company.team", description: "Team"}) { id revision existing } }`,
      {},
      { tenant: 'acme' },
    );
    expect(expectData(created).createNamespace).toMatchObject({ id: 'company.team', revision: 1 });
    expect(Number(created.extensions?.['position'])).toBeGreaterThan(0);

    const listed = expectData(await gw.gql<{ namespaces: { id: string }[] }>(`{ namespaces { id } }`, {}, { tenant: 'acme' }));
    expect(listed.namespaces.map((n) => n.id)).toEqual(['company.team']);

    const inMain = expectData(await gw.gql<{ namespaces: { id: string }[] }>(`{ namespaces { id } }`, {}, { tenant: 'main' }));
    expect(inMain.namespaces).toEqual([]);
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "company.team"}) { id } }`, {}, { tenant: 'main' }));
  });
});
