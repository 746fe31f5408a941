import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../support/gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../support/process.js';

describe('SIGTERM runs the gateway’s own shutdown (a real process, SQLite data dir)', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-sigterm-'));
  let gw: GatewayProcess | null = null;
  afterAll(() => {
    if (gw?.child.exitCode === null) gw.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('drains, closes the stores (no WAL left behind) and exits 0', async () => {
    // Not NODE_ENV=test: Apollo installs its own signal handlers everywhere else, and that is what is tested.
    gw = await startGatewayProcess({ TENANTRY_DATA_DIR: dataDir, TENANTRY_EVENT_STORE: 'sqlite', NODE_ENV: 'development' });
    const created = await fetch(gw.url('/api/v1/graphql'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query: 'mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }' }),
    });
    expect(((await created.json()) as { data?: unknown }).data).toEqual({ createTenant: { id: 'acme' } });
    expect(existsSync(path.join(dataDir, 'events.sqlite-wal'))).toBe(true);

    const exited = new Promise<number | string>((resolve) => gw?.child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    gw.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // The last connection to close checkpoints the WAL into the database and removes it: the stores were closed.
    expect(existsSync(path.join(dataDir, 'events.sqlite-wal'))).toBe(false);
  }, 60_000);
});
