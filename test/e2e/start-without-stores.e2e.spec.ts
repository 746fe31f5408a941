import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../support/gateway.js';
import { mongoSkipReason, testDatabaseName, testMongoUri } from '../support/mongo.js';
import { freePort, runCli, startGatewayProcess, waitUntil, type GatewayProcess } from '../support/process.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/**
 * Issue 19, "start without the stores, then become ready": a gateway whose
 * MongoDB read models do not answer at start stays up, says what it waits
 * for, and opens by itself when the store appears (docs/stores.md, "Start-up while
 * a store is down"). Real processes; the MongoDB is the test's FerretDB behind
 * a TCP proxy that refuses connections until thawed.
 */
const mongoUri = testMongoUri();
if (!mongoUri) console.log(`[start-without-stores] SKIPPED: ${mongoSkipReason()}`);

interface Readiness {
  status: string;
  waitingFor?: { store: string; target: string; error: string | null; attempts: number; nextAttemptInMs: number }[];
}

async function readiness(gw: GatewayProcess): Promise<{ status: number; body: Readiness }> {
  const response = await fetch(gw.url('/readyz'));
  return { status: response.status, body: (await response.json()) as Readiness };
}

function exitOf(gw: GatewayProcess): Promise<number | string> {
  if (gw.child.exitCode !== null) return Promise.resolve(gw.child.exitCode);
  return new Promise((resolve) => gw.child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
}

describe.skipIf(!mongoUri)('the gateway starts while its MongoDB read models are unreachable (real processes, FerretDB)', () => {
  const dirs: string[] = [];
  let gw: GatewayProcess | null = null;
  let proxy: TcpProxy | null = null;
  const env = (uri: string): Record<string, string> => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-startwait-'));
    dirs.push(dir);
    return {
      TENANTRY_DATA_DIR: dir,
      TENANTRY_EVENT_STORE: 'sqlite',
      TENANTRY_READ_MODELS: 'mongodb',
      TENANTRY_MONGODB_URI: uri,
      TENANTRY_MONGODB_DB: testDatabaseName('startwait'),
      TENANTRY_VAULT: 'embedded',
    };
  };
  afterEach(async () => {
    if (gw && gw.child.exitCode === null) gw.child.kill('SIGKILL');
    gw = null;
    await proxy?.close();
    proxy = null;
  });
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('answers /healthz 200, /readyz 503 naming readModels, GraphQL 503; then becomes ready by itself when the store appears', async () => {
    const upstream = new URL(mongoUri ?? '');
    proxy = await startTcpProxy(Number(upstream.port || 27017), upstream.hostname);
    proxy.cut(); // refuses every connection: the store is down
    const target = `127.0.0.1:${proxy.port}`;
    gw = await startGatewayProcess(env(`mongodb://${target}/`), { whenBound: true });
    const g = gw;

    // Until the first attempt has failed, /readyz names what it opens; after, why it waits.
    let last: { status: number; body: Readiness } | null = null;
    await waitUntil(
      '/readyz to name the failed attempt',
      async () => {
        last = await readiness(g);
        return last.body.waitingFor?.[0]?.error != null;
      },
      30_000,
    );
    expect(g.child.exitCode).toBeNull();
    const health = await fetch(g.url('/healthz'));
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await readiness(g);
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('starting');
    expect(ready.body.waitingFor).toEqual([
      {
        store: 'readModels',
        target,
        error: expect.stringMatching(/^MongoDB unavailable/),
        attempts: expect.any(Number),
        nextAttemptInMs: expect.any(Number),
      },
    ]);

    const graphql = await fetch(g.url('/api/v1/graphql'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(graphql.status).toBe(503);
    expect(Number(graphql.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(graphql.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    const refused = (await graphql.json()) as { errors: { message: string; extensions: { code: string; waitingFor: string[] } }[] };
    expect(refused.errors[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', waitingFor: ['readModels'] });
    expect(refused.errors[0]?.extensions).toHaveProperty('correlationId', graphql.headers.get('x-correlation-id'));
    expect(refused.errors[0]?.message).toBe('tenantry is starting: waiting for readModels');
    expect((await g.gql('acme', '{ namespaces { id } }')).errors?.[0]?.extensions.code).toBe('SERVICE_UNAVAILABLE');

    // Some more attempts fail, and the process stays up.
    await new Promise((r) => setTimeout(r, 1500));
    expect(g.child.exitCode).toBeNull();

    proxy.thaw(); // the store appears
    await waitUntil('/readyz to answer 200', async () => (await readiness(g)).status === 200, 40_000).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}; last /readyz: ${JSON.stringify(last)}`);
    });
    const created = await fetch(g.url('/api/v1/graphql'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query: 'mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }' }),
    });
    expect(((await created.json()) as { data?: unknown }).data).toEqual({ createTenant: { id: 'acme' } });
    expect((await g.gql('acme', 'mutation { createNamespace(input: {id: "ns1"}) { id } }')).data).toEqual({
      createNamespace: { id: 'ns1' },
    });
    expect((await g.gql('acme', '{ namespaces { id } }')).data).toEqual({ namespaces: [{ id: 'ns1' }] });

    const exited = exitOf(g);
    g.child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 120_000);

  it('SIGTERM while it waits exits 0 at once, and /readyz never shows the credentials', async () => {
    const port = await freePort(); // nothing listens there
    gw = await startGatewayProcess(env(`mongodb://someone:s3cret-pass@127.0.0.1:${port}/?authSource=admin`), { whenBound: true });
    const g = gw;
    const text = await (await fetch(g.url('/readyz'))).text();
    expect(text).toContain(`"target":"127.0.0.1:${port}"`);
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('someone');

    const exited = exitOf(g);
    const started = Date.now();
    g.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(3000);
  }, 60_000);
});

describe('the gateway starts while its KurrentDB event store is unreachable (a real process, no KurrentDB needed)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-startwait-kurrent-'));
  let gw: GatewayProcess | null = null;
  afterAll(() => {
    if (gw && gw.child.exitCode === null) gw.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('/readyz names eventStore with its redacted target and the reason; SIGTERM exits 0', async () => {
    const port = await freePort(); // nothing listens there
    gw = await startGatewayProcess(
      {
        TENANTRY_DATA_DIR: dir,
        TENANTRY_EVENT_STORE: 'kurrentdb',
        TENANTRY_KURRENTDB_URL: `kurrentdb://admin:changeit@127.0.0.1:${port}?tls=false`,
        TENANTRY_READ_MODELS: 'sqlite', // not memory: the audit ledger needs a durable place beside KurrentDB
      },
      { whenBound: true },
    );
    const g = gw;
    let last: { status: number; body: Readiness } | null = null;
    await waitUntil(
      '/readyz to name the failed attempt',
      async () => {
        last = await readiness(g);
        return last.body.waitingFor?.[0]?.error != null;
      },
      30_000,
    );
    expect(last).toEqual({
      status: 503,
      body: {
        status: 'starting',
        waitingFor: [
          {
            store: 'eventStore',
            target: `127.0.0.1:${port}`,
            error: expect.stringMatching(/^KurrentDB unavailable/),
            attempts: expect.any(Number),
            nextAttemptInMs: expect.any(Number),
          },
        ],
      },
    });
    expect(JSON.stringify(last)).not.toContain('changeit');
    expect((await fetch(g.url('/healthz'))).status).toBe(200);
    expect((await g.gql('acme', '{ namespaces { id } }')).errors?.[0]?.extensions.code).toBe('SERVICE_UNAVAILABLE');

    const exited = exitOf(g);
    g.child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);

  it('with in-memory read models it refuses to start at all: exit 2, one line naming the variables (the ledger would live in memory)', async () => {
    const run = await runCli(['serve'], {
      TENANTRY_DATA_DIR: dir,
      TENANTRY_EVENT_STORE: 'kurrentdb',
      TENANTRY_KURRENTDB_URL: `kurrentdb://127.0.0.1:${await freePort()}?tls=false`,
      TENANTRY_READ_MODELS: 'memory',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^tenantry: configuration error: TENANTRY_READ_MODELS: memory with TENANTRY_EVENT_STORE=kurrentdb would keep the audit ledger [^\n]*\n$/,
    );
  }, 60_000);
});
