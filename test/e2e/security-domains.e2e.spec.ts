import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithToken } from '../support/access.js';
import { errorCode, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Issue 14, "domains are claimed only by those allowed to": a tenant's domain
 * routes every request whose Host names it, so a self-service creator could
 * otherwise take a victim's host (or the gateway's own) for their tenant.
 */
describe('security: domains are claimed only by those allowed to', () => {
  let gw: TestGateway;
  let mallory: string;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { TENANTRY_SELF_SERVICE_TENANTS: 'true', TENANTRY_PUBLIC_HOSTS: 'api.tenantry.example' } });
    mallory = await createUserWithToken(gw, 'mallory');
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('a self-service creator cannot claim a domain at creation, and nothing is written', async () => {
    const before = await gw.eventCount();
    const result = await gw.gql(
      `mutation { createTenant(input: {id: "mal", name: "Mal", domains: ["victim.example.com"]}) { id domains } }`,
      {},
      { token: mallory },
    );
    expect(errorCode(result)).toBe('FORBIDDEN');
    expect(result.errors?.[0]?.extensions['field']).toBe('domains');
    expect(await gw.eventCount()).toBe(before);
    // Nor afterwards, as the tenant's own admin.
    expectData(await gw.gql(`mutation { createTenant(input: {id: "mal", name: "Mal"}) { id } }`, {}, { token: mallory }));
    const update = await gw.gql(
      `mutation { updateTenant(id: "mal", input: {domains: ["victim.example.com"]}) { id } }`,
      {},
      { token: mallory },
    );
    expect(errorCode(update)).toBe('FORBIDDEN');
    // An instance admin may.
    expectData(await gw.gql(`mutation { updateTenant(id: "mal", input: {domains: ["mal.example.com"]}) { id } }`));
  });

  it.each(['localhost', 'LOCALHOST', 'app.localhost', '127.0.0.1', 'api.tenantry.example'])(
    "the gateway's own host name %s can never become a tenant domain, even for an instance admin",
    async (host) => {
      const before = await gw.eventCount();
      const created = await gw.gql(`mutation($d: [String!]) { createTenant(input: {id: "hijack", name: "H", domains: $d}) { id } }`, {
        d: [host],
      });
      expect(errorCode(created)).toBe('BAD_USER_INPUT');
      expect(created.errors?.[0]?.extensions['field']).toBe('domains[0]');
      const updated = await gw.gql(`mutation($d: [String!]) { updateTenant(id: "mal", input: {domains: $d}) { id } }`, {
        d: ['mal.example.com', host],
      });
      expect(errorCode(updated)).toBe('BAD_USER_INPUT');
      expect(updated.errors?.[0]?.extensions['field']).toBe('domains[1]');
      expect(await gw.eventCount()).toBe(before);
    },
  );
});
