import { spawn } from 'node:child_process';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntryView } from '../../src/projections/audit/audit-entry.js';
import { entryHash } from '../../src/projections/audit/audit-entry.js';
import { auditProjection } from '../../src/projections/audit/audit.projection.js';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { testDatabaseName, testMongoUri } from '../support/mongo.js';
import { TEST_AUDIT_SIGNING_KEY } from '../support/signing.js';
import { tenantryArgs } from '../support/tenantry-command.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `tenantry audit …` as an operator runs it, against the data a gateway left behind. */
function cli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, tenantryArgs(...args), {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: { ...process.env, TENANTRY_LOG_LEVEL: 'error', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const uri = testMongoUri();

/**
 * With MongoDB read models the CLI reads the same stored chain the gateway
 * wrote, so tampering with it shows. (With in-memory read models the CLI
 * rebuilds them from the log, which proves the recomputation but cannot see
 * tampering of a read model that lived in another process.)
 */
describe.skipIf(!uri)('tenantry audit verify / export (CLI, SQLite log, MongoDB read models)', () => {
  let gw: TestGateway;
  let env: Record<string, string>;
  const database = testDatabaseName('audit_cli');

  beforeAll(async () => {
    gw = await startTestGateway({ readModels: 'mongodb', env: { TENANTRY_MONGODB_DB: database } });
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    for (const id of ['a', 'b', 'c']) {
      expectData(
        await gw.gql(
          `mutation($id: ID!) { createNamespace(input: {id: $id, description: "x, \\"y\\""}) { id } }`,
          { id },
          { tenant: 'acme' },
        ),
      );
    }
    await gw.stop();
    env = {
      TENANTRY_DATA_DIR: gw.dataDir,
      TENANTRY_EVENT_STORE: 'sqlite',
      TENANTRY_READ_MODELS: 'mongodb',
      TENANTRY_MONGODB_URI: uri ?? '',
      TENANTRY_MONGODB_DB: database,
      TENANTRY_ADMIN_TOKEN: 'cli-test-token-0123456789',
      TENANTRY_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
    };
  }, 120_000);

  afterAll(async () => {
    await gw.dispose();
  });

  it('verifies an intact chain, printing a summary', async () => {
    const run = await cli(['audit', 'verify', '--tenant', 'acme'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /^audit chain of acme: OK — 5 entries verified up to position \d+ in [\d.]+s; last hash [0-9a-f]{64}; ledger: 5 events and \d+ signed checkpoints checked\n$/,
    );
  }, 60_000);

  it('exports NDJSON and CSV to stdout with a summary on stderr', async () => {
    const ndjson = await cli(['audit', 'export', '--tenant', 'acme', '--format', 'ndjson'], env);
    expect(ndjson.code).toBe(0);
    const lines = ndjson.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEntryView);
    expect(lines.map((l) => l.eventType)).toEqual([
      'TenantCreated',
      'BindingCreated',
      'NamespaceCreated',
      'NamespaceCreated',
      'NamespaceCreated',
    ]);
    for (const line of lines) expect(entryHash(line)).toBe(line.hash);
    expect(ndjson.stderr).toMatch(/\nexported 5 entries of acme as ndjson in [\d.]+s\n$/);

    const csv = await cli(['audit', 'export', '--tenant', 'acme', '--format', 'csv'], env);
    expect(csv.code).toBe(0);
    const rows = csv.stdout.split('\r\n').filter((r) => r !== '');
    expect(rows).toHaveLength(6);
    expect(rows[3]).toContain('"{""after"":{""description"":""x, \\""y\\"""",""id"":""a""}}"');
    expect((await cli(['audit', 'export', '--tenant', 'acme', '--format', 'xml'], env)).code).not.toBe(0);
  }, 60_000);

  it('fails with exit code 1 and names the entry when the stored chain was tampered with', async () => {
    const client = new MongoClient(uri ?? '');
    try {
      const entries = client
        .db(database)
        .collection<{ _id: string; eventType: string; position: number; resourceId: string }>(`auditLogs_v${auditProjection.version}`);
      const victim = await entries.findOne({ tenantId: 'acme', eventType: 'NamespaceCreated', resourceId: 'b' });
      expect(victim).not.toBeNull();
      await entries.updateOne({ _id: victim?._id ?? '' }, { $set: { resourceId: 'evil' } });
      const run = await cli(['audit', 'verify', '--tenant', 'acme'], env);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`BROKEN at entry ${victim?._id} (position ${victim?.position}, found in the read model)`);
      expect(run.stdout).toContain("hash does not match the entry's content");
    } finally {
      await client.close();
    }
  }, 60_000);
});

describe('tenantry audit verify / export progress (CLI, the embedded default: SQLite log and read models)', () => {
  let gw: TestGateway;
  let env: Record<string, string>;

  beforeAll(async () => {
    gw = await startTestGateway({ readModels: 'sqlite' });
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    for (const id of ['a', 'b', 'c'])
      expectData(await gw.gql(`mutation { createNamespace(input: {id: "${id}"}) { id } }`, {}, { tenant: 'acme' }));
    await gw.stop();
    env = {
      TENANTRY_DATA_DIR: gw.dataDir,
      TENANTRY_EVENT_STORE: 'sqlite',
      TENANTRY_READ_MODELS: 'sqlite',
      TENANTRY_ADMIN_TOKEN: 'cli-test-token-0123456789',
      TENANTRY_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
    };
  }, 120_000);

  afterAll(async () => {
    await gw.dispose();
  });

  it('verify counts both passes on stderr against totals known before they start (the ledger in events, the chain in entries); stdout holds only the result', async () => {
    const run = await cli(['audit', 'verify', '--tenant', 'acme', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ tenant: 'acme', ok: true, checkedEntries: 5, checkedEvents: 5 });
    expect(run.stderr).toContain('ledger of acme: 5/5 events\n');
    expect(run.stderr).toContain('audit chain of acme: 5/5 entries\n');
    expect(run.stderr.indexOf('ledger of acme')).toBeLessThan(run.stderr.indexOf('audit chain of acme'));
  }, 60_000);

  it('verifies on a verification thread in the built command (TENANTRY_VERIFICATION_THREAD=always), with the same result and progress', async () => {
    const run = await cli(['audit', 'verify', '--tenant', 'acme', '--json'], { ...env, TENANTRY_VERIFICATION_THREAD: 'always' });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ tenant: 'acme', ok: true, checkedEntries: 5, checkedEvents: 5 });
    expect(run.stderr).toContain('ledger of acme: 5/5 events\n');
    expect(run.stderr).toContain('audit chain of acme: 5/5 entries\n');
  }, 60_000);

  it('export counts against the trail length, then prints its summary', async () => {
    const run = await cli(['audit', 'export', '--tenant', 'acme'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trimEnd().split('\n')).toHaveLength(5);
    expect(run.stderr).toMatch(/export acme: 5\/5 entries\nexported 5 entries of acme as ndjson in [\d.]+s\n$/);
  }, 60_000);
});
