import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFerretdb } from '../support/global-setup.js';
import { ADMIN_TOKEN, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { freePort, waitUntil } from '../support/process.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const ferretdb = findFerretdb();
if (!ferretdb) console.log('[mongodb-overload] SKIPPED: no ferretdb binary (scripts/ferretdb.sh install builds one)');
const script = path.resolve(import.meta.dirname, '../../scripts/ferretdb.sh');

/**
 * Admission control end to end (issue 19): a gateway on MongoDB read models
 * allowed 2 operations on the wire and 2 request reads waiting. The server
 * answers late (a TCP proxy holds its bytes back) while clients keep asking:
 * the reads past the queue are refused at once, as SERVICE_UNAVAILABLE with
 * a Retry-After, instead of piling up in the driver's queue; once the server
 * answers again the ones that waited are answered.
 */
describe.skipIf(!ferretdb)('MongoDB read models overloaded: request reads are refused with Retry-After (a FerretDB of its own)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-overload-'));
  const ferret = (...args: string[]) =>
    execFileSync('bash', [script, ...args], { env: { ...process.env, FERRETDB_BIN: ferretdb ?? '' }, encoding: 'utf8' }).trim();
  let proxy: TcpProxy;
  let gw: TestGateway;

  beforeAll(async () => {
    const port = await freePort();
    ferret('start', dir, String(port));
    proxy = await startTcpProxy(port);
    gw = await startTestGateway({
      readModels: 'mongodb',
      env: {
        TENANTRY_MONGODB_URI: `mongodb://127.0.0.1:${proxy.port}/?directConnection=true`,
        TENANTRY_MONGODB_MAX_IN_FLIGHT: '2',
        TENANTRY_MONGODB_MAX_QUEUED_READS: '2',
        TENANTRY_MONGODB_OPERATION_TIMEOUT_MS: '60000',
        TENANTRY_VAULT: 'embedded',
      },
    });
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "team"}) { id } }`, {}, { tenant: 'acme' }));
    expectData(await gw.gql(`mutation { createTenant(input: {id: "beta", name: "Beta", adminUserId: "admin"}) { id } }`));
  }, 120_000);
  afterAll(async () => {
    proxy?.thaw();
    await gw?.dispose().catch(() => undefined);
    await proxy?.close();
    try {
      ferret('stop', dir);
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const ask = (tenant = 'acme') =>
    fetch(`${gw.url}/api/v1/${tenant}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query: '{ namespaces { id } }' }),
    });

  it('past the queue, reads are answered at once with 503, SERVICE_UNAVAILABLE and Retry-After; the ones that waited are answered after', async () => {
    proxy.hold();
    let answered: { at: number; status: number; retryAfter: string | null; body: unknown }[] = [];
    const started = Date.now();
    const requests = Array.from({ length: 10 }, () =>
      ask().then(async (response) => {
        const entry = {
          at: Date.now() - started,
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
          body: await response.json(),
        };
        answered.push(entry);
        return entry;
      }),
    );
    // At most 2 on the wire and 2 waiting, and one tenant at most half of each: at least 6 of the 10 cannot wait.
    // They are answered while the server's answers are still held back.
    await waitUntil('the refused reads to be answered', async () => answered.length >= 6, 10_000);
    // Another tenant is not refused for what acme sent: its read waits its turn.
    let betaStatus = 0;
    const beta = ask('beta').then(async (response) => {
      betaStatus = response.status;
      return (await response.json()) as unknown;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(betaStatus).toBe(0);
    const refused = answered.filter((a) => a.status === 503);
    expect(refused.length).toBeGreaterThanOrEqual(6);
    for (const r of refused) {
      expect(r.retryAfter).toBe('1');
      expect(r.body).toMatchObject({ errors: [{ extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 1 } }] });
    }
    const metrics = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
    const count = Number(/^tenantry_readmodel_reads_refused_total (\d+)/m.exec(metrics)?.[1] ?? 'NaN');
    expect(count).toBeGreaterThanOrEqual(refused.length);
    expect(metrics).toMatch(/^tenantry_readmodel_operations_in_flight 2$/m);

    proxy.thaw();
    // Every request is answered: with its data, or refused with a Retry-After (a request reads several times, and a
    // later read may find the queue full again); none hangs, none fails otherwise. The ones that waited are served.
    const all = await Promise.all(requests);
    for (const a of all) {
      if (a.status === 200) expect(a.body).toEqual({ data: { namespaces: [{ id: 'team' }] } });
      else expect(a).toMatchObject({ status: 503, retryAfter: '1' });
    }
    expect(all.filter((a) => a.status === 200).length).toBeGreaterThanOrEqual(1);
    expect(await beta).toEqual({ data: { namespaces: [] } });
    expect(betaStatus).toBe(200);
    // Not an outage: nothing fails fast afterwards.
    answered = [];
    expect((await ask()).status).toBe(200);
  }, 60_000);
});
