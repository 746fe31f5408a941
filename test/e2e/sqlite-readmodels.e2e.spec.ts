/**
 * The embedded default keeps its read models in `readmodels.sqlite` in the
 * data dir: a data dir made by an earlier version (read models in memory)
 * builds them once, later starts only catch up the tail of the log, and CLI
 * commands read them instead of replaying the log.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { READ_MODELS_FILE } from '../../src/application/application.js';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { runCli } from '../support/process.js';
import { TEST_AUDIT_SIGNING_KEY } from '../support/signing.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const applied = (gw: TestGateway): number => gw.app.projections.runners.reduce((n, r) => n + r.appliedEvents, 0);

async function namespaceIds(gw: TestGateway): Promise<string[]> {
  const listed = expectData(await gw.gql<{ namespaces: { id: string }[] }>(`{ namespaces { id } }`, {}, { tenant: 'acme' }));
  return listed.namespaces.map((n) => n.id).sort();
}

describe('SQLite read models (the embedded default)', () => {
  it('a data dir made with read models in memory starts with nothing lost; they are built once, then kept', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-sqlite-rm-'));
    dirs.push(dataDir);
    const old = await startTestGateway({ dataDir, readModels: 'memory' });
    expectData(await old.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    for (const id of ['a.one', 'a.two', 'a.three']) {
      expectData(await old.gql(`mutation { createNamespace(input: {id: "${id}"}) { id } }`, {}, { tenant: 'acme' }));
    }
    await old.dispose();
    expect(existsSync(path.join(dataDir, READ_MODELS_FILE))).toBe(false);

    const migrated = await startTestGateway({ dataDir, readModels: 'sqlite' });
    expect(existsSync(path.join(dataDir, READ_MODELS_FILE))).toBe(true);
    expect(applied(migrated)).toBeGreaterThan(0); // built from the whole log, once
    expect(await namespaceIds(migrated)).toEqual(['a.one', 'a.three', 'a.two']);
    expectData(await migrated.gql(`mutation { createNamespace(input: {id: "a.four"}) { id } }`, {}, { tenant: 'acme' }));
    await migrated.dispose();

    const head = await (async () => {
      const again = await startTestGateway({ dataDir, readModels: 'sqlite' });
      try {
        // Nothing past the checkpoints: no event of the log is applied again at start.
        expect(applied(again)).toBe(0);
        expect(await namespaceIds(again)).toEqual(['a.four', 'a.one', 'a.three', 'a.two']);
        return await again.eventCount();
      } finally {
        await again.dispose();
      }
    })();

    // The CLI opens the same read models (default configuration: no TENANTRY_READ_MODELS).
    const status = await runCli(['projections', 'status'], {
      TENANTRY_DATA_DIR: dataDir,
      TENANTRY_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
      TENANTRY_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
      TENANTRY_LOG_LEVEL: 'warn',
    });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stderr).not.toMatch(/in memory/);
    const namespacesRow = status.stdout.split('\n').find((line) => line.startsWith('namespaces '));
    expect(namespacesRow).toMatch(new RegExp(`position +${head}/${head} +lag 0 events`));
  }, 120_000);
});
