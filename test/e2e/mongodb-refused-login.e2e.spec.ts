import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFerretdb, startFerretdb } from '../support/global-setup.js';
import { runCli } from '../support/process.js';

const ferretdb = findFerretdb();
if (!ferretdb) console.log('[mongodb-refused-login] SKIPPED: no ferretdb binary (scripts/ferretdb.sh install builds one)');

/**
 * A MongoDB that refuses the gateway's credentials is a configuration error,
 * not an outage: waiting would not help. The gateway (and any CLI command on
 * those read models) stops at once with one line and exit code 2, instead of
 * a stack trace and exit code 70. A FerretDB of its own with authentication
 * on; the gateway a real process.
 */
describe.skipIf(!ferretdb)('MongoDB refuses the credentials at start (a FerretDB with authentication)', () => {
  let ferret: { uri: string; stop: () => Promise<void> };
  const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-refused-'));

  beforeAll(async () => {
    ferret = await startFerretdb(ferretdb!, {
      extraArgs: ['--test-enable-new-auth', '--setup-username=tenantry', '--setup-password=right-password', '--setup-database=admin'],
    });
  }, 60_000);
  afterAll(async () => {
    await ferret?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serve exits 2 with one line naming the refusal, no stack trace, and does not wait', async () => {
    const uri = ferret.uri.replace('mongodb://', 'mongodb://tenantry:wrong-password@');
    const started = Date.now();
    const { code, stderr } = await runCli(['serve'], {
      TENANTRY_DATA_DIR: dir,
      TENANTRY_PORT: '0',
      TENANTRY_EVENT_STORE: 'sqlite',
      TENANTRY_READ_MODELS: 'mongodb',
      TENANTRY_MONGODB_URI: uri,
      TENANTRY_LOG_LEVEL: 'fatal',
    });
    expect(code).toBe(2);
    const lines = stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^tenantry: configuration error: MongoDB refused the credentials/);
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(stderr).not.toContain('wrong-password');
    // Not the start-up wait's backoff: refused at the first attempt.
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
