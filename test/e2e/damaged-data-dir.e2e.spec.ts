import { copyFileSync, mkdtempSync, rmSync, truncateSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../support/gateway.js';
import { runCli } from '../support/process.js';

const dirs: string[] = [];
const newDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-datadir-'));
  dirs.push(dir);
  return dir;
};

/** A data dir with a log that holds a tenant: `tenantry tenants create` runs the whole start (bootstrap included) and stops cleanly. */
async function installed(): Promise<string> {
  const dir = newDir();
  const made = await runCli(['tenants', 'create', '--tenant', 'acme', '--name', 'Acme'], env(dir), 60_000);
  expect(made.stderr).toBe('');
  expect(made.code).toBe(0);
  return dir;
}
const env = (dir: string) => ({ TENANTRY_DATA_DIR: dir, TENANTRY_EVENT_STORE: 'sqlite', TENANTRY_ADMIN_TOKEN: ADMIN_TOKEN });
const tenants = (dir: string) => runCli(['tenants', 'create', '--tenant', 'other', '--name', 'Other'], env(dir), 60_000);

describe('a damaged data dir is never taken for a new installation (real processes, SQLite)', () => {
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('a zero-length events.sqlite: refused in one line, exit code 6', async () => {
    const dir = await installed();
    truncateSync(path.join(dir, 'events.sqlite'), 0);
    const run = await tenants(dir);
    expect(run.code).toBe(6); // ExitCode.DATA_DIR_DAMAGED
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^tenantry: damaged data dir: .*events\.sqlite is empty, but this data dir holds the event log/);
  }, 120_000);

  it('the gateway too: not waited for as a store that is down, refused in one line, exit code 6', async () => {
    const dir = await installed();
    truncateSync(path.join(dir, 'events.sqlite'), 0);
    const run = await runCli(['serve'], { ...env(dir), TENANTRY_PORT: '0' }, 60_000);
    expect(run.code).toBe(6); // ExitCode.DATA_DIR_DAMAGED
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^tenantry: damaged data dir: .*events\.sqlite is empty/);
  }, 120_000);

  it('a missing events.sqlite: refused, and no new log is created in its place', async () => {
    const dir = await installed();
    for (const suffix of ['', '-wal', '-shm']) rmSync(path.join(dir, `events.sqlite${suffix}`), { force: true });
    const run = await tenants(dir);
    expect(run.code).toBe(6); // ExitCode.DATA_DIR_DAMAGED
    expect(run.stderr).toMatch(/events\.sqlite is missing/);
    expect(() => unlinkSync(path.join(dir, 'events.sqlite'))).toThrow(/ENOENT/);
  }, 120_000);

  it("another installation's log copied in: refused", async () => {
    const [mine, theirs] = [await installed(), await installed()];
    copyFileSync(path.join(theirs, 'events.sqlite'), path.join(mine, 'events.sqlite'));
    const run = await tenants(mine);
    expect(run.code).toBe(6); // ExitCode.DATA_DIR_DAMAGED
    expect(run.stderr).toMatch(/is the event log \S+, but this data dir holds the log \S+/);
  }, 120_000);

  it('an older copy of its own log (events missing at the end): refused', async () => {
    const dir = await installed();
    const older = path.join(newDir(), 'events.sqlite');
    copyFileSync(path.join(dir, 'events.sqlite'), older);
    expect((await tenants(dir)).code).toBe(0); // more events now
    copyFileSync(older, path.join(dir, 'events.sqlite'));
    const run = await runCli(['tenants', 'create', '--tenant', 'third', '--name', 'Third'], env(dir), 60_000);
    expect(run.code).toBe(6); // ExitCode.DATA_DIR_DAMAGED
    expect(run.stderr).toMatch(/ends at position \d+, but it held events up to \d+/);
  }, 120_000);

  it('a healthy data dir starts as before', async () => {
    const dir = await installed();
    expect((await tenants(dir)).code).toBe(0);
  }, 120_000);
});
