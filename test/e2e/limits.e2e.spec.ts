/**
 * The abuse limits of the GraphQL endpoint (docs/api.md, "Limits and hardening"):
 * each refuses a request just past it, with its documented code, and accepts
 * one just under it. Shape limits run with their defaults.
 */
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_LOGS } from '../../ui/src/entries.js';
import { createUserWithToken } from '../support/access.js';
import { ADMIN_TOKEN, errorCode, expectData, startTestGateway, type GqlResult, type TestGateway } from '../support/gateway.js';
import { HookedStore, sleep } from '../support/store-hooks.js';

interface RawResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/** POSTs anything (a batch, an oversized body) and keeps the status and headers. */
async function post(
  gw: TestGateway,
  body: string,
  headers: Record<string, string> = {},
  path = '/api/v1/main/graphql',
): Promise<RawResponse> {
  const response = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, ...headers },
    body,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as unknown) : null };
}

const tooComplex = (result: GqlResult<unknown>, reason: string): Record<string, unknown> => {
  expect(result.status).toBe(400);
  expect(result.data ?? null).toBeNull();
  expect(result.errors).toHaveLength(1);
  const extensions = result.errors?.[0]?.extensions ?? { code: '' };
  expect(extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason });
  expect(typeof extensions['correlationId']).toBe('string');
  return extensions;
};

const repeat = (n: number, make: (i: number) => string): string => Array.from({ length: n }, (_, i) => make(i)).join(' ');

describe('request limits, with their defaults', () => {
  let gw: TestGateway;
  let events: number;

  beforeAll(async () => {
    gw = await startTestGateway();
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "team"}) { id } }`, {}, { tenant: 'main' }));
    events = await gw.eventCount();
  });
  afterAll(() => gw?.dispose());

  it('depth: 6 levels (the deepest real path: flows → edges → node → namespaceRef → inheritedPluginDefaults → type) pass, 7 are refused', async () => {
    const six = `{ flows { edges { node { namespaceRef { inheritedPluginDefaults { type } } } } } }`;
    expectData(await gw.gql(six, {}, { tenant: 'main' }));
    const seven = `{ flows { edges { node { namespaceRef { inheritedPluginDefaults { ... on PluginDefault { type } } } } } } }`;
    expect(tooComplex(await gw.gql(seven, {}, { tenant: 'main' }), 'MAX_DEPTH')).toMatchObject({ limit: 6, found: 7 });
  });

  it('aliases: 15 pass, 16 are refused', async () => {
    const aliases = (n: number) => `{ ${repeat(n, (i) => `a${i}: me { id }`)} }`;
    expectData(await gw.gql(aliases(15)));
    expect(tooComplex(await gw.gql(aliases(16)), 'MAX_ALIASES')).toMatchObject({ limit: 15, found: 16 });
  });

  it('directives: 50 pass, 51 are refused', async () => {
    const directives = (n: number) => `{ me { ${repeat(n, () => 'id @include(if: true)')} } }`;
    expectData(await gw.gql(directives(50)));
    expect(tooComplex(await gw.gql(directives(51)), 'MAX_DIRECTIVES')).toMatchObject({ limit: 50, found: 51 });
  });

  it('tokens: 1,000 pass, 1,001 are refused before parsing ends', async () => {
    // 12 tokens around the spreads, 2 per spread (repeating a field instead would trip graphql-js's own overlap budget).
    const tokens = (n: number) =>
      `fragment F on Me { id } { me { ${repeat(Math.floor((n - 12) / 2), () => '...F')}${(n - 12) % 2 ? ' id' : ''} } }`;
    expectData(await gw.gql(tokens(1000)));
    expect(tooComplex(await gw.gql(tokens(1001)), 'MAX_TOKENS')).toMatchObject({ limit: 1000 });
  });

  it('cost: page sizes from variables count; 50,000 passes, just past it is refused', async () => {
    // Each `flows(first: n) { edges { node { id } } }` costs 12.875 × n (graphql-armor's model); 3,883 items cost 49,993.6.
    const query = `query(${repeat(8, (i) => `$n${i}: Int`)}) { ${repeat(8, (i) => `p${i}: flows(first: $n${i}) { edges { node { id } } }`)} }`;
    const sizes = (last: number): Record<string, number> =>
      Object.fromEntries([...Array.from({ length: 7 }, (_, i): [string, number] => [`n${i}`, 500]), ['n7', last]]);
    expectData(await gw.gql(query, sizes(383), { tenant: 'main' }));
    expect(tooComplex(await gw.gql(query, sizes(384), { tenant: 'main' }), 'MAX_COST')).toMatchObject({ limit: 50_000, found: 50_006.5 });
  });

  it('cost: an omitted `first` counts as its schema default (50), not as 1', async () => {
    const omitted = `{ ${repeat(10, (i) => `p${i}: flows { edges { node { id } } }`)} }`; // 10 × 50 × 12.875 = 6,437.5
    const gwCost = await gw.gql(omitted, {}, { tenant: 'main' });
    expectData(gwCost);
    const tight = await startTestGateway({ env: { TENANTRY_MAX_COST: '6437' } });
    try {
      expect(tooComplex(await tight.gql(omitted, {}, { tenant: 'main' }), 'MAX_COST')).toMatchObject({ limit: 6437, found: 6437.5 });
    } finally {
      await tight.dispose();
    }
  });

  it('the heaviest legitimate queries stay under the defaults: the UI audit page, a page of 200 flows with namespaces and revisions, introspection', async () => {
    expectData(await gw.gql(AUDIT_LOGS, { filter: {}, first: 500 }, { tenant: 'main' }));
    // Revisions are priced at their real window (20 when omitted): 200 flows × 20 sources is past the default, 200 × 5 is not.
    const nPlusOne = `{ flows(first: 200) { totalCount edges { node { id namespaceRef { id inheritedVariables } revisions(last: 5) { revision source } } } } }`;
    expectData(await gw.gql(nPlusOne, {}, { tenant: 'main' }));
    const allRevisions = nPlusOne.replace('revisions(last: 5)', 'revisions');
    expect(tooComplex(await gw.gql(allRevisions, {}, { tenant: 'main' }), 'MAX_COST')).toMatchObject({ limit: 50_000 });
    expectData(await gw.gql(`{ me { id type name tenants { id name permissions } } }`));
    const introspection = expectData(await gw.gql<{ __schema: { types: unknown[] } }>(getIntrospectionQuery()));
    expect(introspection.__schema.types.length).toBeGreaterThan(10);
  });

  it('response size: an answer past TENANTRY_MAX_RESPONSE_SIZE is replaced by QUERY_TOO_COMPLEX (MAX_RESPONSE_SIZE) with its size', async () => {
    const small = await startTestGateway({ env: { TENANTRY_MAX_RESPONSE_SIZE: '4kb' } });
    try {
      const source = (i: number) =>
        `id: big${i}\nnamespace: company\ndescription: ${'x'.repeat(500)}\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n`;
      for (let i = 0; i < 10; i++) {
        expectData(await small.gql(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: source(i) }, { tenant: 'main' }));
      }
      expectData(await small.gql(`{ flows(first: 3) { edges { node { id } } } }`, {}, { tenant: 'main' }));
      const big = await small.gql(`{ flows(first: 10) { edges { node { id source } } } }`, {}, { tenant: 'main' });
      expect(big.data).toBeNull();
      // Decided while writing the body, after the status line: HTTP 200, like any answer with errors.
      expect(big.status).toBe(200);
      const refusal = big.errors?.[0]?.extensions ?? {};
      expect(refusal).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'MAX_RESPONSE_SIZE', limit: 4096 });
      expect((refusal as Record<string, unknown>)['found']).toBeGreaterThan(4096);
      expect(big.errors?.[0]?.extensions['correlationId']).toEqual(expect.any(String));
    } finally {
      await small.dispose();
    }
  });

  it('body size: just under 1 MiB is accepted, just over is 413 BAD_USER_INPUT', async () => {
    const body = (size: number) => {
      const envelope = JSON.stringify({ query: '{ me { id } }', variables: { pad: '' } });
      return JSON.stringify({ query: '{ me { id } }', variables: { pad: 'x'.repeat(size - envelope.length) } });
    };
    const under = await post(gw, body(1024 * 1024));
    expect(under.status).toBe(200);
    const over = await post(gw, body(1024 * 1024 + 1));
    expect(over.status).toBe(413);
    expect(over.body).toMatchObject({ errors: [{ extensions: { code: 'BAD_USER_INPUT' } }] });
  });

  it('batched requests are refused unless configured', async () => {
    const batch = await post(gw, JSON.stringify([{ query: '{ me { id } }' }, { query: '{ me { id } }' }]));
    expect(batch.status).toBe(400);
    expect(batch.body).toMatchObject({ errors: [{ extensions: { code: 'BAD_USER_INPUT', reason: 'BAD_REQUEST' } }] });
  });

  it('CSRF prevention: a simple (form-like) request is refused before anything runs', async () => {
    const form = await post(gw, 'query=mutation{createNamespace(input:{id:"csrf"}){id}}', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(form.status).toBe(400);
    const get = await fetch(`${gw.url}/api/v1/main/graphql?query=${encodeURIComponent('{ me { id } }')}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(get.status).toBe(400);
    expect(await get.text()).toMatch(/CSRF/);
    // The same GET with a header a form cannot send is served.
    const preflighted = await fetch(`${gw.url}/api/v1/main/graphql?query=${encodeURIComponent('{ me { id } }')}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'apollo-require-preflight': 'true' },
    });
    expect(preflighted.status).toBe(200);
  });

  it('refused requests wrote nothing', async () => {
    expect(await gw.eventCount()).toBe(events);
  });
});

describe('rate limits (per principal, per tenant; the bootstrap admin is exempt)', () => {
  let gw: TestGateway;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    gw = await startTestGateway({
      env: { TENANTRY_RATE_LIMIT_PER_MINUTE: '3', TENANTRY_TENANT_RATE_LIMIT_PER_MINUTE: '5', TENANTRY_ALLOW_BATCHED_REQUESTS: 'true' },
    });
    alice = await createUserWithToken(gw, 'alice');
    bob = await createUserWithToken(gw, 'bob');
  });
  afterAll(() => gw?.dispose());

  it('a principal gets 3 requests a minute; the 4th is 429 RATE_LIMITED with Retry-After', async () => {
    for (let i = 0; i < 3; i++) expectData(await gw.gql(`{ me { id } }`, {}, { token: alice }));
    const refused = await post(gw, JSON.stringify({ query: '{ me { id } }' }), { authorization: `Bearer ${alice}` }, '/api/v1/graphql');
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.body).toMatchObject({
      errors: [{ extensions: { code: 'RATE_LIMITED', scope: 'principal', limit: 3, retryAfterSeconds: retryAfter } }],
    });
    // The bootstrap admin is not counted: the operator can still act.
    for (let i = 0; i < 6; i++) expectData(await gw.gql(`{ me { id } }`, {}, { tenant: 'main' }));
  });

  it('a tenant gets 5 requests a minute from all its principals together; a batch spends one per operation', async () => {
    // bob: 2 operations in one batch, then 1 more (3 of his own, 3 of the tenant's) — the tenant had none spent yet.
    const batch = await post(gw, JSON.stringify([{ query: '{ me { id } }' }, { query: '{ me { id } }' }]), {
      authorization: `Bearer ${bob}`,
    });
    expect(batch.status).toBe(200);
    expect(batch.body).toHaveLength(2);
    expect(errorCode(await gw.gql(`{ me { id } }`, {}, { tenant: 'main', token: bob }))).toBeUndefined();
    const carol = await createUserWithToken(gw, 'carol');
    for (let i = 0; i < 2; i++) expect(errorCode(await gw.gql(`{ me { id } }`, {}, { tenant: 'main', token: carol }))).toBeUndefined();
    const refused = await gw.gql(`{ me { id } }`, {}, { tenant: 'main', token: carol });
    expect(refused.status).toBe(429);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', scope: 'tenant', limit: 5 });
    // The refusal was the tenant's, not carol's: her own budget still has 1 left, on the instance endpoint (no tenant).
    expectData(await gw.gql(`{ me { id } }`, {}, { token: carol }));
  });
});

describe('execution timeout (queries only)', () => {
  const store = new HookedStore();
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { TENANTRY_EXECUTION_TIMEOUT_MS: '300' }, wrapDocuments: store.wrap });
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "team"}) { id } }`, {}, { tenant: 'main' }));
  });
  afterAll(() => gw?.dispose());

  const slowNamespaces = (ms: number) => {
    store.hook = (collection) => (collection.startsWith('namespaces') ? sleep(ms) : Promise.resolve());
  };

  it('a query still running at the deadline answers QUERY_TOO_COMPLEX (EXECUTION_TIMEOUT) at the deadline; one just under it answers', async () => {
    try {
      slowNamespaces(1500);
      const started = Date.now();
      const late = await gw.gql(`{ namespaces { id } me { id } }`, {}, { tenant: 'main' });
      expect(Date.now() - started).toBeLessThan(1200);
      expect(late.errors).toHaveLength(1);
      expect(late.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'EXECUTION_TIMEOUT', limit: 300 });
      slowNamespaces(100);
      expect(
        expectData(await gw.gql<{ namespaces: { id: string }[] }>(`{ namespaces { id } }`, {}, { tenant: 'main' })).namespaces,
      ).toContainEqual({
        id: 'team',
      });
    } finally {
      store.hook = null;
    }
  });

  it('a mutation is never cut: it commits and answers, however long it takes', async () => {
    const before = await gw.eventCount();
    try {
      slowNamespaces(400);
      const created = await gw.gql(`mutation { createNamespace(input: {id: "slow"}) { id } }`, {}, { tenant: 'main' });
      expect(expectData(created)).toEqual({ createNamespace: { id: 'slow' } });
    } finally {
      store.hook = null;
    }
    expect(await gw.eventCount()).toBeGreaterThan(before);
  });
});

describe('NODE_ENV=production', () => {
  let prod: TestGateway;
  let dev: TestGateway;

  beforeAll(async () => {
    [prod, dev] = await Promise.all([startTestGateway({ env: { NODE_ENV: 'production' } }), startTestGateway()]);
  });
  afterAll(async () => {
    await Promise.all([prod?.dispose(), dev?.dispose()]);
  });

  it('refuses introspection', async () => {
    const refused = await prod.gql(`{ __schema { types { name } } }`);
    expect(errorCode(refused)).toBe('BAD_USER_INPUT');
    expect(refused.errors?.[0]?.message).toMatch(/introspection/i);
    expect(errorCode(await dev.gql(`{ __schema { types { name } } }`))).toBeUndefined();
  });

  it('gives no field, argument or type suggestions', async () => {
    const mistakes = [
      `{ me { nam } }`,
      `{ namespaces(existingOnli: true) { id } }`,
      `query($f: AuditLogFiltr) { auditLogs(filter: $f) { totalCount } }`,
    ];
    const variables: Record<string, unknown>[] = mistakes.map(() => ({}));
    // An input field misspelled in a variable: graphql-js repeats the suggestion inside the variable error.
    mistakes.push(`mutation($i: CreateNamespaceInput!) { createNamespace(input: $i) { id } }`);
    variables.push({ i: { id: 'typo', descriptio: 'x' } });
    for (const [i, query] of mistakes.entries()) {
      const inDev = await dev.gql(query, variables[i], { tenant: 'main' });
      expect(inDev.errors?.map((e) => e.message).join(' '), query).toMatch(/Did you mean/);
      const inProd = await prod.gql(query, variables[i], { tenant: 'main' });
      expect(errorCode(inProd), query).toBe('BAD_USER_INPUT');
      expect(inProd.errors?.map((e) => e.message).join(' '), query).not.toMatch(/Did you mean/);
    }
  });
});
