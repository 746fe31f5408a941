import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithToken } from '../support/access.js';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Issue 14, "metrics do not grow with client input": the operation name is
 * the client's choice, and a series per name would let anyone grow the
 * registry, and every scrape, without bound.
 */
describe('security: metrics do not grow with client input', () => {
  let gw: TestGateway;
  let user: string;
  beforeAll(async () => {
    gw = await startTestGateway();
    user = await createUserWithToken(gw, 'someone');
  });
  afterAll(async () => {
    await gw.dispose();
  });

  /** The request counter's series, as `operation|type|outcome`. */
  async function series(): Promise<string[]> {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    return text
      .split('\n')
      .filter((line) => line.startsWith('tenantry_graphql_requests_total{'))
      .map((line) => line.slice(0, line.lastIndexOf(' ')));
  }

  it('a hundred made-up operation names add at most one series; known names keep their own', async () => {
    expectData(await gw.gql(`query Me { me { id } }`, {}, { token: user }));
    expectData(await gw.gql(`query { me { id } }`, {}, { token: user }));
    const before = await series();
    for (let i = 0; i < 100; i++) {
      expectData(await gw.gql(`query Probe${i}x${Math.random().toString(36).slice(2)} { me { id } }`, {}, { token: user }));
    }
    const after = await series();
    expect(after.filter((s) => !before.includes(s))).toEqual([
      'tenantry_graphql_requests_total{operation="other",type="query",outcome="ok"}',
    ]);
    expect(before).toContain('tenantry_graphql_requests_total{operation="Me",type="query",outcome="ok"}');
    expect(before).toContain('tenantry_graphql_requests_total{operation="anonymous",type="query",outcome="ok"}');
    expect(after.join('\n')).not.toMatch(/Probe/);
  });

  it('clients without a valid token create no series at all', async () => {
    const before = await series();
    for (let i = 0; i < 20; i++) {
      await gw.gql(`query Anon${i} { me { id } }`, {}, { token: null });
      await gw.gql(`mutation Bad${i} { createNamespace(input: {id: "x"}) { id } }`, {}, { token: 'not-a-token', tenant: 'main' });
    }
    expect(await series()).toEqual(before);
  });
});
