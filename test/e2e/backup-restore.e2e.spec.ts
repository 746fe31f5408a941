import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../support/gateway.js';
import { runCli, startGatewayProcess, type GatewayProcess } from '../support/process.js';

describe('tenantry backup (online) and tenantry restore (real processes, SQLite data dir)', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'tenantry-backup-'));
  const [source, backup, restored] = ['data', 'backup', 'restored'].map((d) => path.join(root, d)) as [string, string, string];
  // The ledger's signing key lives apart from the data dir and its backups (docs/operations.md, "Backup and restore"): the same file for every process here.
  const common = {
    TENANTRY_EVENT_STORE: 'sqlite',
    TENANTRY_ADMIN_TOKEN: ADMIN_TOKEN,
    TENANTRY_AUDIT_SIGNING_KEY_FILE: path.join(root, 'signing-key.pem'),
  };
  let gw: GatewayProcess | null = null;
  afterAll(() => {
    if (gw?.child.exitCode === null) gw.child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('copies the data dir while a gateway writes, restores it elsewhere, and the audit chain verifies there', async () => {
    gw = await startGatewayProcess({ ...common, TENANTRY_DATA_DIR: source });
    const g = gw;
    const post = async (url: string, query: string) =>
      (await (
        await fetch(g.url(url), {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
          body: JSON.stringify({ query }),
        })
      ).json()) as { data?: unknown; errors?: unknown };
    expect(
      (await post('/api/v1/graphql', 'mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }')).errors,
    ).toBeUndefined();
    for (let i = 0; i < 5; i++)
      expect((await post('/api/v1/acme/graphql', `mutation { createNamespace(input: {id: "before${i}"}) { id } }`)).errors).toBeUndefined();

    // Writes go on during the backup: it must still be one consistent copy.
    let writing = true;
    const writes = (async () => {
      for (let i = 0; writing; i++) await post('/api/v1/acme/graphql', `mutation { createNamespace(input: {id: "during${i}"}) { id } }`);
    })();
    const made = await runCli(['backup', '--to', backup], { ...common, TENANTRY_DATA_DIR: source }, 60_000);
    writing = false;
    await writes;
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^backed up .* log \S+ up to position \d+, \d+ files/);
    const manifest = JSON.parse(readFileSync(path.join(backup, 'backup.json'), 'utf8')) as { position: number; files: { name: string }[] };
    expect(manifest.files.map((f) => f.name)).toEqual(expect.arrayContaining(['events.sqlite', 'vault.sqlite', 'ledger.sqlite']));

    const stopped = new Promise((resolve) => g.child.once('exit', resolve));
    g.child.kill('SIGTERM');
    await stopped;

    const restore = await runCli(['restore', '--from', backup], { ...common, TENANTRY_DATA_DIR: restored }, 60_000);
    expect(restore.stderr).toBe('');
    expect(restore.code).toBe(0);
    expect(existsSync(path.join(restored, 'installation.json'))).toBe(true);

    const verified = await runCli(['audit', 'verify', '--tenant', 'acme'], { ...common, TENANTRY_DATA_DIR: restored }, 120_000);
    expect(verified.code, `${verified.stdout}${verified.stderr}`).toBe(0);
    expect(verified.stdout).toMatch(/^audit chain of acme: OK — \d+ entries verified up to position \d+/m);

    // A second restore over it is refused, unless asked to replace (the old files are moved aside, not deleted).
    const again = await runCli(['restore', '--from', backup], { ...common, TENANTRY_DATA_DIR: restored }, 60_000);
    expect(again.code).toBe(4); // ExitCode.NOT_FOUND_OR_CONFLICT
    expect(again.stderr).toMatch(/already holds an installation/);

    // Restored over the data dir it was taken from (its read models built from events the backup does not have):
    // they are moved aside with the log and rebuilt from the restored one; the ledger's start check passes.
    expect(existsSync(path.join(source, 'readmodels.sqlite'))).toBe(true);
    const replaced = await runCli(['restore', '--from', backup, '--replace'], { ...common, TENANTRY_DATA_DIR: source }, 60_000);
    expect(replaced.stderr).toBe('');
    expect(replaced.code).toBe(0);
    expect(existsSync(path.join(source, 'readmodels.sqlite'))).toBe(false);
    const overSource = await runCli(['audit', 'verify', '--tenant', 'acme'], { ...common, TENANTRY_DATA_DIR: source }, 120_000);
    expect(overSource.code, `${overSource.stdout}${overSource.stderr}`).toBe(0);
    expect(overSource.stdout).toMatch(/^audit chain of acme: OK — \d+ entries verified up to position \d+/m);
  }, 300_000);
});
