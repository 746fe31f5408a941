/**
 * GET /api/v1/schema.graphql serves the schema as SDL to any authenticated
 * principal, also in production where introspection is refused; without a
 * valid token it answers 401 in GraphQL's error shape.
 */
import { readFileSync } from 'node:fs';
import { buildSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithToken } from '../support/access.js';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';

const checkedIn = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
const checkedInV2 = readFileSync(new URL('../../schema.v2.graphql', import.meta.url), 'utf8');

describe('GET /api/v1/schema.graphql with NODE_ENV=production (introspection off)', () => {
  let gw: TestGateway;
  let plainUserToken: string;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { NODE_ENV: 'production' } });
    // A user with no binding anywhere: authenticated, but no rights at all.
    plainUserToken = await createUserWithToken(gw, 'reader');
  });
  afterAll(async () => {
    await gw.dispose();
  });

  const get = (token: string | null, headers: Record<string, string> = {}) =>
    fetch(`${gw.url}/api/v1/schema.graphql`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });

  it('refuses introspection over GraphQL on this gateway', async () => {
    const result = await gw.gql('{ __schema { queryType { name } } }');
    expect(result.data ?? null).toBeNull();
    expect(result.errors?.[0]?.message).toMatch(/introspection/i);
  });

  it('serves the SDL, the same text as the checked-in schema.graphql, to a principal without any rights', async () => {
    const response = await get(plainUserToken);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('private, no-cache');
    expect(response.headers.get('x-correlation-id')).toBeTruthy();
    const sdl = await response.text();
    expect(sdl).toBe(checkedIn);
    // A client can build the schema from it.
    expect(buildSchema(sdl).getMutationType()?.getFields()['createFlow']).toBeDefined();
  });

  it("serves v2's SDL at /api/v2/schema.graphql: the checked-in schema.v2.graphql, with Node and node(id:)", async () => {
    const response = await fetch(`${gw.url}/api/v2/schema.graphql`, { headers: { authorization: `Bearer ${plainUserToken}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toContain('schema.v2.graphql');
    const sdl = await response.text();
    expect(sdl).toBe(checkedInV2);
    expect(sdl).not.toBe(checkedIn);
    expect(buildSchema(sdl).getQueryType()?.getFields()['node']).toBeDefined();
    expect((await fetch(`${gw.url}/api/v2/schema.graphql`)).status).toBe(401);
  });

  it('serves it to the bootstrap admin token too, with an ETag a client can revalidate with', async () => {
    const response = await get(ADMIN_TOKEN);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(checkedIn);
    expect(response.headers.get('etag')).toBeTruthy();
  });

  it('answers 401 UNAUTHENTICATED without a token, in GraphQL’s error shape with a correlation id', async () => {
    const response = await get(null, { 'x-correlation-id': 'schema-anon-1' });
    expect(response.status).toBe(401);
    const body = (await response.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body.errors[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', correlationId: 'schema-anon-1' });
    expect(JSON.stringify(body)).not.toContain('createFlow');
  });

  it('answers 401 UNAUTHENTICATED with a token nobody accepts, and with a malformed Authorization header', async () => {
    for (const headers of [{ authorization: 'Bearer tnt_not-a-real-token' }, { authorization: 'Basic dXNlcjpwYXNz' }]) {
      const response = await get(null, headers);
      expect(response.status).toBe(401);
      const body = (await response.json()) as { errors: { extensions: Record<string, unknown> }[] };
      expect(body.errors[0]?.extensions['code']).toBe('UNAUTHENTICATED');
    }
  });
});

describe('GET /api/v1/schema.graphql and the failed-authentication budget', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { TENANTRY_AUTH_FAILURE_LIMIT_PER_MINUTE: '3' } });
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('counts refused tokens like a GraphQL request does: past the budget, 429 with Retry-After, on this route and on GraphQL', async () => {
    const get = (token: string) => fetch(`${gw.url}/api/v1/schema.graphql`, { headers: { authorization: `Bearer ${token}` } });
    for (let i = 0; i < 3; i++) expect((await get(`guess-${i}`)).status).toBe(401);
    const refused = await get('guess-3');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await refused.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', scope: 'address' });
    // The same address, on the GraphQL endpoint: the budget is one.
    expect((await gw.gql(`{ me { id } }`, {}, { token: 'guess-4' })).status).toBe(429);
  });
});
