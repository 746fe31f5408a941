import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithToken } from '../support/access.js';
import { errorCode, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

describe('self-service tenants (TENANTRY_SELF_SERVICE_TENANTS=true)', () => {
  let gw: TestGateway;
  let alice: string;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { TENANTRY_SELF_SERVICE_TENANTS: 'true' } });
    alice = await createUserWithToken(gw, 'alice');
    await createUserWithToken(gw, 'bob');
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('any authenticated user may create a tenant and becomes its admin', async () => {
    expectData(await gw.gql(`mutation { createTenant(input: {id: "alices", name: "Alice's"}) { id } }`, {}, { token: alice }));
    const created = expectData(
      await gw.gql<{ createNamespace: { id: string } }>(
        `mutation { createNamespace(input: {id: "mine"}) { id } }`,
        {},
        { tenant: 'alices', token: alice },
      ),
    );
    expect(created.createNamespace.id).toBe('mine');
    const me = expectData(await gw.gql<{ me: { tenants: { id: string }[] } }>(`{ me { tenants { id } } }`, {}, { token: alice }));
    expect(me.me.tenants.map((t) => t.id)).toContain('alices');
  });

  it('a self-service creator cannot make someone else the admin, and nothing is written', async () => {
    const before = await gw.eventCount();
    const result = await gw.gql(
      `mutation { createTenant(input: {id: "for-bob", name: "x", adminUserId: "bob"}) { id } }`,
      {},
      { token: alice },
    );
    expect(errorCode(result)).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0]?.extensions['field']).toBe('adminUserId');
    expect(await gw.eventCount()).toBe(before);
  });

  it('without a token nobody creates a tenant', async () => {
    expect(errorCode(await gw.gql(`mutation { createTenant(input: {id: "anon", name: "x"}) { id } }`, {}, { token: null }))).toBe(
      'UNAUTHENTICATED',
    );
  });
});
