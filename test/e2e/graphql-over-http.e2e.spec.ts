/**
 * GraphQL-over-HTTP conformance: graphql-http's server audits (the test suite
 * of the specification's reference implementation) against a running gateway,
 * on the instance endpoint and on a tenant's. Every MUST and every SHOULD
 * audit passes; a MAY audit the gateway answers otherwise is listed below with
 * the reason (docs/api.md, "GraphQL over HTTP").
 */
import { serverAudits, type Audit } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * MAY audits the gateway answers differently, on purpose: a GET without a
 * JSON content type or a preflight-forcing header is what a cross-site form
 * or image can send, and Apollo's CSRF prevention refuses it (docs/api.md).
 */
const DIFFERENT_ON_PURPOSE: Record<string, string> = {
  '5A70': 'CSRF prevention refuses a GET without a preflight-forcing header',
  D6D5: 'CSRF prevention refuses a GET without a preflight-forcing header',
  '6A70': 'CSRF prevention refuses a GET without a preflight-forcing header',
};

let gw: TestGateway;
/** Set once the audits' URLs are known (the gateway's port). */
const endpoints: Record<string, () => string> = {
  'instance endpoint': () => `${gw.url}/api/v1/graphql`,
  'tenant endpoint': () => `${gw.url}/api/v1/acme/graphql`,
  'v2 tenant endpoint': () => `${gw.url}/api/v2/acme/graphql`,
};

beforeAll(async () => {
  gw = await startTestGateway({ eventStore: 'memory' });
  expectData(await gw.gql('mutation { createTenant(input: { id: "acme", name: "Acme" }) { id } }'));
});

afterAll(async () => {
  await gw?.dispose();
});

/** The audits' fetch, as an authenticated client: every operation of the API needs a token. */
const authenticated: typeof fetch = (input, init) => {
  const headers = new Headers(init?.headers);
  headers.set('authorization', `Bearer ${ADMIN_TOKEN}`);
  return fetch(input, { ...init, headers });
};

// The audits' list does not depend on the URL (it is read when an audit runs).
const audits: Audit[] = serverAudits({ url: () => endpoints['instance endpoint']!(), fetchFn: authenticated });

describe.each(Object.keys(endpoints))('graphql-http server audits, %s', (endpoint) => {
  const forEndpoint = serverAudits({ url: () => endpoints[endpoint]!(), fetchFn: authenticated });

  it.each(forEndpoint.map((audit) => [audit.id, audit.name, audit] as const))('%s %s', async (id, name, audit) => {
    const result = await audit.fn();
    const reason = DIFFERENT_ON_PURPOSE[id];
    if (reason !== undefined && result.status !== 'ok') {
      // Only a MAY audit may be answered otherwise.
      expect(name, reason).toMatch(/^MAY /);
      expect(result.status).toBe('notice');
      return;
    }
    const detail = result.status === 'ok' ? '' : `${result.reason}; answered ${result.response.status}: ${await result.response.text()}`;
    expect(result.status, detail).toBe('ok');
  });
});

describe('status codes by what the client accepts', () => {
  const post = (accept: string | null, query: string) =>
    fetch(`${gw.url}/api/v1/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, ...(accept ? { accept } : {}) },
      body: JSON.stringify({ query }),
    });

  it('a syntax or validation error is 400 for graphql-response+json and */* clients, 200 for application/json-only ones', async () => {
    for (const query of ['{', '{ noSuchField }']) {
      const modern = await post('application/graphql-response+json', query);
      expect(modern.status).toBe(400);
      expect(modern.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
      expect((await post('application/graphql-response+json, application/json;q=0.9', query)).status).toBe(400);
      expect((await post('*/*', query)).status).toBe(400);
      expect((await post(null, query)).status).toBe(400);
      const legacy = await post('application/json', query);
      expect(legacy.status).toBe(200);
      expect(legacy.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await legacy.json()) as { errors: { extensions: { code: string } }[]; data?: unknown };
      expect(body.errors[0]?.extensions.code).toBe('BAD_USER_INPUT');
      expect(body).not.toHaveProperty('data');
    }
  });

  it('refusals before any GraphQL runs keep their status for every client (malformed body, no token, CSRF)', async () => {
    const legacy = { 'content-type': 'application/json', accept: 'application/json' };
    const malformed = await fetch(`${gw.url}/api/v1/graphql`, {
      method: 'POST',
      headers: { ...legacy, authorization: `Bearer ${ADMIN_TOKEN}` },
      body: '{"query": ',
    });
    expect(malformed.status).toBe(400);
    const anonymous = await fetch(`${gw.url}/api/v1/graphql`, { method: 'POST', headers: legacy, body: '{"query":"{ me { id } }"}' });
    expect(anonymous.status).toBe(401);
    const form = await fetch(`${gw.url}/api/v1/graphql?query=${encodeURIComponent('{ me { id } }')}`, {
      headers: { accept: 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(form.status).toBe(400);
    expect(await form.text()).toMatch(/CSRF/);
  });
});

it('runs every audit graphql-http has (none filtered out by accident)', () => {
  // graphql-http 1.23: 13 MUST, 23 SHOULD and 25 MAY audits.
  expect(audits.filter((a) => a.name.startsWith('MUST ')).length).toBeGreaterThanOrEqual(13);
  expect(audits.filter((a) => a.name.startsWith('SHOULD ')).length).toBeGreaterThanOrEqual(23);
});
