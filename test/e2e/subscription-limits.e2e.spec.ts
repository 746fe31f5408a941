import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithToken, createTenant, bind } from '../support/access.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/** The first error a subscription ends with, or 'next' if it delivered a result first. */
function firstOutcome(client: Client, query: string): Promise<{ code?: unknown; retryAfterSeconds?: unknown } | 'next'> {
  return new Promise((resolve) => {
    const dispose = client.subscribe(
      { query },
      {
        next: () => {
          dispose();
          resolve('next');
        },
        error: (error: unknown) => {
          const errors = Array.isArray(error) ? (error as { extensions?: Record<string, unknown> }[]) : [];
          resolve({ code: errors[0]?.extensions?.['code'], retryAfterSeconds: errors[0]?.extensions?.['retryAfterSeconds'] });
        },
        complete: () => resolve('next'),
      },
    );
  });
}

describe('subscriptions and exports get the same limits as GraphQL over HTTP', () => {
  let gw: TestGateway;
  let token: string;
  const clients: Client[] = [];
  const connect = (): Client => {
    const client = createClient({
      url: `${gw.url.replace(/^http/, 'ws')}/api/v1/acme/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
    });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    gw = await startTestGateway({ env: { TENANTRY_RATE_LIMIT_PER_MINUTE: '3' } });
    await createTenant(gw, 'acme');
    token = await createUserWithToken(gw, 'auditor');
    await bind(gw, 'acme', { principalType: 'USER', principalId: 'auditor', roleId: 'admin' });
  });
  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await gw.dispose();
  });

  it('a subscription past the alias limit (16 > 15) is refused with QUERY_TOO_COMPLEX', async () => {
    const aliases = Array.from({ length: 16 }, (_, i) => `a${i}: type`).join(' ');
    expect(await firstOutcome(connect(), `subscription { auditLogAppended { actor { ${aliases} } } }`)).toMatchObject({
      code: 'QUERY_TOO_COMPLEX',
    });
  });

  it('subscribing counts against the rate limit, answered RATE_LIMITED with retryAfterSeconds', async () => {
    const client = connect();
    const outcomes = [];
    for (let i = 0; i < 4; i++) {
      const result = await Promise.race([
        firstOutcome(client, `subscription { auditLogAppended { id } }`),
        new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 300)),
      ]);
      outcomes.push(result);
    }
    expect(outcomes.some((o) => typeof o === 'object' && o.code === 'RATE_LIMITED' && typeof o.retryAfterSeconds === 'number')).toBe(true);
  });

  it('an export download counts too: 429 with Retry-After', async () => {
    // A principal of its own: the budget (3 a minute) is per principal.
    const exporter = await createUserWithToken(gw, 'exporter');
    await bind(gw, 'acme', { principalType: 'USER', principalId: 'exporter', roleId: 'admin' });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 4; i++) {
      const response = await fetch(`${gw.url}/api/v1/acme/audit-logs/export?format=ndjson`, {
        headers: { authorization: `Bearer ${exporter}` },
      });
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get('retry-after');
      await response.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });
});
