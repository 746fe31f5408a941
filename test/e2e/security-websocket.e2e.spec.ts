import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../support/access.js';
import { ADMIN_TOKEN, errorCode, startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Issue 14, "the WebSocket endpoint follows production settings": with
 * NODE_ENV=production HTTP refuses introspection and cuts "Did you mean …?";
 * the same gateway's WebSocket endpoint must not hand the schema out either,
 * nor run what HTTP bounds (queries: execution timeout, response size).
 */
interface Outcome {
  data?: unknown;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
  closed?: number;
}

function outcome(client: Client, query: string, variables: Record<string, unknown> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const dispose = client.subscribe(
      { query, variables },
      {
        next: (result) => {
          dispose();
          resolve({ data: result.data, errors: result.errors as Outcome['errors'] });
        },
        error: (error: unknown) => {
          if (Array.isArray(error)) resolve({ errors: error as Outcome['errors'] });
          else resolve({ closed: (error as { code?: number }).code ?? -1 });
        },
        complete: () => resolve({}),
      },
    );
  });
}

describe('security: the WebSocket endpoint follows production settings', () => {
  let gw: TestGateway;
  const clients: Client[] = [];
  const connect = (): Client => {
    const client = createClient({
      url: `${gw.url.replace(/^http/, 'ws')}/api/v1/acme/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` },
      retryAttempts: 0,
    });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    gw = await startTestGateway({ env: { NODE_ENV: 'production', TENANTRY_BODY_LIMIT: '16kb' } });
    await createTenant(gw, 'acme');
  });
  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await gw.dispose();
  });

  it('introspection is refused over WebSocket as over HTTP', async () => {
    const query = `{ __schema { types { name } } }`;
    expect(errorCode(await gw.gql(query, {}, { tenant: 'acme' }))).toBe('BAD_USER_INPUT');
    const result = await outcome(connect(), query);
    expect(result.data ?? null).toBeNull();
    expect(result.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(result)).not.toMatch(/AuditLogEntry|Namespace/);
    const typeQuery = await outcome(connect(), `subscription { auditLogAppended { __type(name: "Query") { name } } }`);
    expect(typeQuery.data ?? null).toBeNull();
  });

  it('validation messages carry no "Did you mean" over WebSocket', async () => {
    const result = await outcome(connect(), `subscription { auditLogAppended { idd } }`);
    expect(result.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0]?.message).toMatch(/Cannot query field "idd"/);
    expect(JSON.stringify(result)).not.toMatch(/Did you mean/);
    const http = await gw.gql(`subscription { auditLogAppended { idd } }`, {}, { tenant: 'acme' });
    expect(JSON.stringify(http.errors)).not.toMatch(/Did you mean/);
  });

  it('queries and mutations are not run over WebSocket (they are bounded over HTTP only)', async () => {
    const query = await outcome(connect(), `{ namespaces { id } }`);
    expect(query.data ?? null).toBeNull();
    expect(query.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    const before = await gw.eventCount();
    const mutation = await outcome(connect(), `mutation { createNamespace(input: {id: "via-ws"}) { id } }`);
    expect(mutation.data ?? null).toBeNull();
    expect(await gw.eventCount()).toBe(before);
  });

  it('a message larger than the HTTP body limit closes the socket', async () => {
    const result = await outcome(connect(), `subscription($x: String) { auditLogAppended { id } }`, { x: 'x'.repeat(20_000) });
    expect(result.closed).toBe(1009);
  });
});
