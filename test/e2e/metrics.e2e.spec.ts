import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latencyBuckets } from '../../src/server/metrics.js';
import { createUserWithToken } from '../support/access.js';
import { ADMIN_TOKEN, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { metricValue, waitUntil } from '../support/process.js';

const promtool = spawnSync('promtool', ['--version']).status === 0;

/** One sample without labels. */
const plain = (text: string, name: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

/**
 * Issue 21: what an operator watches. Every number here is a count of
 * things the test did, never a duration; the exposition as a whole must pass
 * `promtool check metrics` (Prometheus 2.42, Debian's package).
 */
describe('observability metrics', () => {
  let gw: TestGateway;
  let alice: string;
  const clients: Client[] = [];
  const metrics = async (): Promise<string> => (await fetch(`${gw.url}/metrics`)).text();

  beforeAll(async () => {
    gw = await startTestGateway({ env: { TENANTRY_RATE_LIMIT_PER_MINUTE: '3', TENANTRY_EXECUTION_TIMEOUT_MS: '3000' } });
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    alice = await createUserWithToken(gw, 'alice');
  });

  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await gw?.dispose();
  });

  it('tenantry_build_info names the version of package.json and the Node version', async () => {
    const pkg = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(metricValue(await metrics(), 'tenantry_build_info', { version: pkg.version, node_version: process.version })).toBe(1);
  });

  it('latency buckets reach the execution timeout, and end there', async () => {
    const text = await metrics();
    expect(latencyBuckets(3000).at(-1)).toBe(3);
    expect(text).toContain('tenantry_graphql_request_duration_seconds_bucket{le="3"');
    expect(text).not.toContain('tenantry_graphql_request_duration_seconds_bucket{le="5"');
    expect(latencyBuckets(10_000).at(-1)).toBe(10);
    expect(latencyBuckets(45_000).slice(-2)).toEqual([30, 45]);
  });

  it('authentication failures and rate-limit refusals are counted', async () => {
    const before = await metrics();
    for (const token of ['nope-1', 'nope-2']) {
      const refused = await gw.gql(`{ me { id } }`, {}, { token });
      expect(refused.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    }
    for (let i = 0; i < 4; i++) await gw.gql(`{ me { id } }`, {}, { token: alice }); // the 4th is refused
    const after = await metrics();
    expect(plain(after, 'tenantry_authentication_failures_total') - plain(before, 'tenantry_authentication_failures_total')).toBe(2);
    expect(
      metricValue(after, 'tenantry_rate_limit_refusals_total', { scope: 'principal' }) -
        metricValue(before, 'tenantry_rate_limit_refusals_total', { scope: 'principal' }),
    ).toBe(1);
  });

  it('audit exports are counted by format and outcome', async () => {
    const ok = await fetch(`${gw.url}/api/v1/acme/audit-logs/export?format=csv`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(ok.status).toBe(200);
    await ok.text();
    const refused = await fetch(`${gw.url}/api/v1/acme/audit-logs/export?format=xml`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(refused.status).toBe(400);
    const text = await metrics();
    expect(metricValue(text, 'tenantry_audit_exports_total', { format: 'csv', outcome: 'ok' })).toBe(1);
    expect(metricValue(text, 'tenantry_audit_exports_total', { format: 'none', outcome: 'refused' })).toBe(1);
  });

  it('subscriptions: open now, tenants by bucket, messages sent; back to 0 when they end', async () => {
    const client = createClient({
      url: `${gw.url.replace(/^http/, 'ws')}/api/v1/acme/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` },
      retryAttempts: 0,
    });
    clients.push(client);
    const received: unknown[] = [];
    const stops = [0, 1].map(() =>
      client.subscribe(
        { query: 'subscription { auditLogAppended { id } }' },
        { next: (v) => received.push(v), error: () => undefined, complete: () => undefined },
      ),
    );
    await waitUntil('two subscriptions open', async () => plain(await metrics(), 'tenantry_subscriptions_open') === 2, 30_000);
    let text = await metrics();
    expect(metricValue(text, 'tenantry_subscription_tenants', { subscriptions: '2-10' })).toBe(1);
    expect(metricValue(text, 'tenantry_subscription_tenants', { subscriptions: '1' })).toBe(0);
    const sentBefore = plain(text, 'tenantry_subscription_messages_sent_total');

    expectData(await gw.gql(`mutation { createNamespace(input: {id: "observed"}) { id } }`, {}, { tenant: 'acme' }));
    await waitUntil('both subscribers got the entry', async () => received.length >= 2, 30_000);
    text = await metrics();
    expect(plain(text, 'tenantry_subscription_messages_sent_total') - sentBefore).toBe(received.length);

    for (const stop of stops) stop();
    await waitUntil('no subscription open', async () => plain(await metrics(), 'tenantry_subscriptions_open') === 0, 30_000);
    expect(metricValue(await metrics(), 'tenantry_subscription_tenants', { subscriptions: '2-10' })).toBe(0);
  });

  it.skipIf(!promtool)('the whole exposition passes promtool check metrics', async () => {
    const text = await metrics();
    for (const name of [
      'tenantry_build_info',
      'tenantry_subscriptions_open',
      'tenantry_subscription_tenants',
      'tenantry_subscription_messages_sent_total',
      'tenantry_authentication_failures_total',
      'tenantry_rate_limit_refusals_total',
      'tenantry_audit_exports_total',
      'tenantry_event_loop_delay_p99_seconds',
    ]) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
    const checked = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    const findings = `${checked.stdout}${checked.stderr}`.split('\n').filter((l) => l.trim() !== '');
    expect(findings).toEqual([]);
  });
});
