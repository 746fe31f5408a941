import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/logger.js';
import { findFerretdb } from '../support/global-setup.js';
import { errorCode, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { freePort, waitUntil } from '../support/process.js';

const ferretdb = findFerretdb();
if (!ferretdb) console.log('[mongodb-outage] read-model outage test SKIPPED: no ferretdb binary (scripts/ferretdb.sh install builds one)');

const script = path.resolve(import.meta.dirname, '../../scripts/ferretdb.sh');

describe.skipIf(!ferretdb)('MongoDB read models stopped while mutations continue (a FerretDB of its own)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-outage-'));
  let gw: TestGateway | null = null;
  let uri = '';
  let port = 0;
  const ferret = (...args: string[]) =>
    execFileSync('bash', [script, ...args], { env: { ...process.env, FERRETDB_BIN: ferretdb ?? '' }, encoding: 'utf8' }).trim();
  afterAll(async () => {
    await gw?.dispose().catch(() => undefined);
    try {
      ferret('stop', dir);
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('mutations succeed from the log, /readyz turns 503, reads say so, and the read models catch up after', async () => {
    port = await freePort();
    uri = ferret('start', dir, String(port));
    gw = await startTestGateway({
      readModels: 'mongodb',
      ...(process.env['DEBUG_OUTAGE'] ? { logger: createLogger({ level: 'error', destination: process.stderr }) } : {}),
      env: {
        TENANTRY_MONGODB_URI: uri,
        TENANTRY_VAULT: 'embedded',
        TENANTRY_PROJECTION_LEASE_MS: '1500',
        TENANTRY_READ_YOUR_WRITES_TIMEOUT_MS: '3000',
        TENANTRY_PROJECTION_STALL_MS: '5000',
      },
    });
    const g = gw;
    expectData(await g.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    for (const id of ['before1', 'before2'])
      expectData(await g.gql(`mutation { createNamespace(input: {id: "${id}"}) { id } }`, {}, { tenant: 'acme' }));
    expect((await fetch(`${g.url}/readyz`)).status).toBe(200);

    ferret('stop', dir);

    // The log is the source of truth: tenant status and rights come from it now.
    for (const id of ['during1', 'during2', 'during3']) {
      const started = Date.now();
      const created = await g.gql<{ createNamespace: { id: string; revision: number } }>(
        `mutation { createNamespace(input: {id: "${id}"}) { id revision } }`,
        {},
        { tenant: 'acme' },
      );
      expect(expectData(created).createNamespace).toEqual({ id, revision: 1 });
      expect(Date.now() - started).toBeLessThan(8000);
    }
    const updated = await g.gql(
      `mutation { updateNamespace(id: "before1", input: {description: "changed in the outage"}, expectedRevision: 1) { revision } }`,
      {},
      { tenant: 'acme' },
    );
    expect(expectData(updated)).toEqual({ updateNamespace: { revision: 2 } });
    await waitUntil('/readyz to answer 503', async () => (await fetch(`${g.url}/readyz`)).status === 503, 10_000);
    expect(errorCode(await g.gql(`{ namespaces { id } }`, {}, { tenant: 'acme' }))).toBe('SERVICE_UNAVAILABLE');

    ferret('start', dir, String(port));

    let readiness = '';
    await waitUntil(
      '/readyz to answer 200 again',
      async () => {
        const res = await fetch(`${g.url}/readyz`);
        readiness = await res.text();
        return res.status === 200;
      },
      60_000,
    ).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}; last /readyz: ${readiness}`);
    });
    const listed = expectData(
      await g.gql<{ namespaces: { id: string; description: string | null }[] }>(
        `{ namespaces { id description } }`,
        {},
        { tenant: 'acme' },
      ),
    );
    expect(listed.namespaces.map((n) => n.id)).toEqual(['before1', 'before2', 'during1', 'during2', 'during3']);
    expect(listed.namespaces[0]?.description).toBe('changed in the outage');
    // Nothing applied twice: each document carries the position of its own last event.
    const created = (await g.app.events.readAll({ maxCount: 10_000 })).filter(
      (e) => e.type === 'NamespaceCreated' && e.metadata.tenantId === 'acme',
    );
    expect(created).toHaveLength(5);
  }, 150_000);
});
