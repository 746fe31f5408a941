import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, createUserWithToken, bind } from '../support/access.js';
import { errorCode, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Issue 14, "anonymous and failed requests have their own budget": a request
 * that fails authentication must not spend a tenant's (or anyone's) budget,
 * or anyone could lock a tenant out without a token; and one address
 * failing again and again is refused with RATE_LIMITED.
 */
describe('security: requests that fail authentication never spend a tenant budget', () => {
  let gw: TestGateway;
  let alice: string;
  beforeAll(async () => {
    gw = await startTestGateway({
      env: {
        TENANTRY_TENANT_RATE_LIMIT_PER_MINUTE: '12',
        TENANTRY_RATE_LIMIT_PER_MINUTE: '12',
        TENANTRY_AUTH_FAILURE_LIMIT_PER_MINUTE: '1000',
      },
    });
    await createTenant(gw, 'acme');
    alice = await createUserWithToken(gw, 'alice');
    await bind(gw, 'acme', { principalType: 'USER', principalId: 'alice', roleId: 'viewer' });
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('forty anonymous or badly-authenticated requests into a tenant leave its budget whole for its users', async () => {
    for (let i = 0; i < 20; i++) {
      const anonymous = await gw.gql(`{ namespaces { id } }`, {}, { tenant: 'acme', token: null });
      expect(anonymous.status).toBe(401);
      expect(errorCode(anonymous)).toBe('UNAUTHENTICATED');
      const forged = await gw.gql(`{ namespaces { id } }`, {}, { tenant: 'acme', token: `forged-${i}` });
      expect(forged.status).toBe(401);
    }
    for (let i = 0; i < 10; i++) expectData(await gw.gql(`{ namespaces { id } }`, {}, { tenant: 'acme', token: alice }));
  });
});

describe('security: repeated failed authentications from one address are refused', () => {
  let gw: TestGateway;
  let alice: string;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { TENANTRY_AUTH_FAILURE_LIMIT_PER_MINUTE: '5' } });
    alice = await createUserWithToken(gw, 'alice');
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('past the budget the address gets RATE_LIMITED (HTTP 429, Retry-After) on every endpoint, whatever token it tries', async () => {
    for (let i = 0; i < 5; i++) {
      const result = await gw.gql(`{ me { id } }`, {}, { token: i % 2 ? null : `guess-${i}` });
      expect(result.status).toBe(401);
    }
    const refused = await fetch(`${gw.url}/api/v1/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer guess-6' },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await refused.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', scope: 'address', limit: 5 });
    // Even a good token is not looked at from this address until the window ends: guessing gains nothing.
    const good = await gw.gql(`{ me { id } }`, {}, { token: alice });
    expect(good.status).toBe(429);
    expect(errorCode(good)).toBe('RATE_LIMITED');
    const download = await fetch(`${gw.url}/api/v1/main/audit-logs/export`, { headers: { authorization: 'Bearer guess-7' } });
    expect(download.status).toBe(429);
  });
});
