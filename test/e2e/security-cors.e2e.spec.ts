/**
 * CORS at the HTTP level (docs/security.md, "Cross-origin requests name their
 * origins"): preflights and actual requests on the GraphQL endpoints and the
 * audit export, from a listed origin, from another one, and against a gateway
 * with no TENANTRY_CORS_ORIGINS. test/e2e/cors.browser.e2e.spec.ts shows the
 * same with a real browser.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

const FRONTEND = 'https://app.example.com';
const OTHER = 'https://evil.example.net';

let gw: TestGateway;
let plain: TestGateway;

beforeAll(async () => {
  [gw, plain] = await Promise.all([
    startTestGateway({ eventStore: 'memory', env: { TENANTRY_CORS_ORIGINS: `${FRONTEND},http://localhost:5173` } }),
    startTestGateway({ eventStore: 'memory' }),
  ]);
  expectData(await gw.gql('mutation { createTenant(input: { id: "acme", name: "Acme" }) { id } }'));
});

afterAll(async () => {
  await Promise.all([gw?.dispose(), plain?.dispose()]);
});

const ROUTES = [
  '/api/v1/graphql',
  '/api/v1/acme/graphql',
  '/api/v1/audit-logs/export',
  '/api/v1/acme/audit-logs/export',
  '/api/v1/schema.graphql',
];

const preflight = (base: string, path: string, origin: string, method = 'POST') =>
  fetch(`${base}${path}`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': 'authorization,content-type',
    },
  });

describe('preflight (OPTIONS)', () => {
  it.each(ROUTES)('%s: answered for a listed origin, with the methods and headers the API reads', async (path) => {
    const response = await preflight(gw.url, path, FRONTEND, path.includes('export') ? 'GET' : 'POST');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(FRONTEND);
    expect(response.headers.get('access-control-allow-methods')).toBe('GET,POST');
    const allowed = (response.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(',');
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'x-tenant-id', 'idempotency-key', 'traceparent']));
    expect(response.headers.get('access-control-max-age')).toBe('600');
    // Bearer tokens only: no cookies, so no credentials mode.
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(response.headers.get('vary')).toMatch(/Origin/);
  });

  it.each(ROUTES)('%s: refused (no Access-Control-Allow-Origin) for an origin not listed', async (path) => {
    const response = await preflight(gw.url, path, OTHER);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    // Not even a near miss: another scheme, port or a subdomain is another origin.
    for (const near of ['http://app.example.com', 'https://app.example.com:8443', 'https://x.app.example.com', `${FRONTEND}.evil.net`]) {
      expect((await preflight(gw.url, path, near)).headers.get('access-control-allow-origin'), near).toBeNull();
    }
  });

  it('the second listed origin is answered too', async () => {
    const response = await preflight(gw.url, '/api/v1/graphql', 'http://localhost:5173');
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });

  it('without TENANTRY_CORS_ORIGINS no CORS header is sent at all', async () => {
    for (const path of ROUTES) {
      const response = await preflight(plain.url, path, FRONTEND);
      expect(
        [...response.headers.keys()].filter((h) => h.startsWith('access-control-')),
        path,
      ).toEqual([]);
    }
  });

  it('the other routes stay same-origin (health, metrics)', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const response = await fetch(`${gw.url}${path}`, { headers: { origin: FRONTEND } });
      expect(response.headers.get('access-control-allow-origin'), path).toBeNull();
    }
  });
});

describe('actual requests', () => {
  const query = (base: string, origin: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/api/v1/acme/graphql`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, ...headers },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });

  it('a listed origin gets Access-Control-Allow-Origin and may read X-Correlation-Id', async () => {
    const response = await query(gw.url, FRONTEND);
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(FRONTEND);
    expect(response.headers.get('access-control-expose-headers')).toBe('X-Correlation-Id,Retry-After,Content-Disposition');
    expect(response.headers.get('x-correlation-id')).toBeTruthy();
  });

  it('the v2 endpoints and their schema answer a listed origin the same way', async () => {
    const response = await fetch(`${gw.url}/api/v2/acme/graphql`, {
      method: 'POST',
      headers: { origin: FRONTEND, 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query: '{ me { id principalId } }' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(FRONTEND);
    const sdl = await fetch(`${gw.url}/api/v2/schema.graphql`, { headers: { origin: FRONTEND, authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(sdl.headers.get('access-control-allow-origin')).toBe(FRONTEND);
    const stranger = await fetch(`${gw.url}/api/v2/acme/graphql`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('errors before any GraphQL runs (no token, malformed body) carry the headers too, so a page can read them', async () => {
    const anonymous = await fetch(`${gw.url}/api/v1/graphql`, {
      method: 'POST',
      headers: { origin: FRONTEND, 'content-type': 'application/json' },
      body: '{"query":"{ me { id } }"}',
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('access-control-allow-origin')).toBe(FRONTEND);
    const malformed = await fetch(`${gw.url}/api/v1/graphql`, {
      method: 'POST',
      headers: { origin: FRONTEND, 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: '{"query": ',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('access-control-allow-origin')).toBe(FRONTEND);
  });

  it('an origin not listed gets no Access-Control-Allow-Origin (its browser withholds the answer)', async () => {
    const response = await query(gw.url, OTHER);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('CSRF prevention stays on for listed origins: a form-like request is refused before anything runs', async () => {
    const form = await fetch(`${gw.url}/api/v1/acme/graphql`, {
      method: 'POST',
      headers: { origin: FRONTEND, 'content-type': 'text/plain', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query: 'mutation { createNamespace(input: { id: "csrf" }) { id } }' }),
    });
    expect(form.status).toBe(400);
    expect(await form.text()).toMatch(/CSRF/);
  });

  it('the audit export answers a listed origin with the headers a download needs', async () => {
    const response = await fetch(`${gw.url}/api/v1/audit-logs/export?format=ndjson`, {
      headers: { origin: FRONTEND, authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(FRONTEND);
    expect(response.headers.get('access-control-expose-headers')).toMatch(/Content-Disposition/);
    await response.text();
  });
});
