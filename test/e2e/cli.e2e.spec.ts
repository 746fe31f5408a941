import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { exportTenant, importTenant } from '../../src/application/tenant-transfer.js';
import { ADMIN_TOKEN, expectData, startTestGateway } from '../support/gateway.js';
import { freePort } from '../support/process.js';
import { TEST_AUDIT_SIGNING_KEY } from '../support/signing.js';
import { tenantryArgs } from '../support/tenantry-command.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const root = path.resolve(import.meta.dirname, '../..');

/** `tenantry …` as an operator runs it: its own process, the real stores (SQLite log in a fresh data dir). */
function cli(args: string[], env: Record<string, string>, stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, tenantryArgs(...args), {
      cwd: root,
      env: { ...process.env, TENANTRY_LOG_LEVEL: 'error', ...env },
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

function storeEnv(): Record<string, string> {
  return {
    TENANTRY_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'tenantry-cli-')),
    TENANTRY_EVENT_STORE: 'sqlite',
    TENANTRY_READ_MODELS: 'memory',
    TENANTRY_ADMIN_TOKEN: ADMIN_TOKEN,
    TENANTRY_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
    TENANTRY_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
    TENANTRY_SQLITE_SYNCHRONOUS: 'NORMAL',
  };
}

const jsonLines = <T>(text: string): T[] =>
  text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);

interface TenantJson {
  id: string;
  name: string;
  domains: string[];
  deleted: boolean;
  revision: number;
}

describe('tenantry CLI conventions', { timeout: 600_000 }, () => {
  let env: Record<string, string>;

  beforeAll(async () => {
    env = storeEnv();
    const created = await cli(['tenants', 'create', '--tenant', 'acme', '--name', 'Acme', '--admin-username', 'admin'], env);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(ExitCode.OK);
  }, 600_000);

  it('--version prints the version in package.json', async () => {
    const run = await cli(['--version'], {});
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    expect(run).toMatchObject({ code: ExitCode.OK, stdout: `${pkg.version}\n` });
  });

  it(`exit code ${ExitCode.USAGE}: an unknown command, a bad option value, a configuration error`, async () => {
    const unknown = await cli(['tenants', 'frobnicate'], env);
    expect(unknown.code).toBe(ExitCode.USAGE);
    expect(unknown.stderr).toMatch(/unknown command/);
    const badValue = await cli(['tenants', 'get', '--tenant', 'Not Valid'], env);
    expect(badValue.code).toBe(ExitCode.USAGE);
    const config = await cli(['tenants', 'list'], { ...env, TENANTRY_EVENT_STORE: 'paper' });
    expect(config.code).toBe(ExitCode.USAGE);
    expect(config.stderr).toMatch(/configuration error: TENANTRY_EVENT_STORE/);
  });

  it(`exit code ${ExitCode.BAD_INPUT}: input the domain refuses (an empty name, an import that is not an export)`, async () => {
    const emptyName = await cli(['tenants', 'update', '--tenant', 'acme', '--name', ''], env);
    expect(emptyName.code).toBe(ExitCode.BAD_INPUT);
    expect(emptyName.stderr).toMatch(/BAD_USER_INPUT/);
    const notAnExport = await cli(['events', 'import', '--tenant', 'other'], env, '{"hello":"world"}\n');
    expect(notAnExport.code).toBe(ExitCode.BAD_INPUT);
  });

  it(`exit code ${ExitCode.BAD_INPUT}: a file named by an option that is missing or not what the option takes, in one line`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-cli-files-'));
    const notACheckpoint = path.join(dir, 'not-a-checkpoint.json');
    writeFileSync(notACheckpoint, '{"hello":"world"}');
    const missing = path.join(dir, 'missing.json');
    const runs = [
      await cli(['audit', 'verify', '--export', missing, '--checkpoint', notACheckpoint], env),
      await cli(['audit', 'verify', '--export', missing, '--checkpoint', missing], env),
      await cli(['audit', 'prove', '--tenant', 'acme', '--checkpoint', notACheckpoint], env),
      await cli(['audit', 'prove', '--tenant', 'acme', '--checkpoint', missing], env),
    ];
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(ExitCode.BAD_INPUT);
      expect(run.stderr).toMatch(/^tenantry: .*--checkpoint/);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
    // A good checkpoint, but the export it should check is not there.
    const checkpointFile = path.join(dir, 'acme.checkpoint.json');
    expect((await cli(['audit', 'checkpoint', '--tenant', 'acme', '--output', checkpointFile], env)).code).toBe(ExitCode.OK);
    const noExport = await cli(['audit', 'verify', '--export', missing, '--checkpoint', checkpointFile], env);
    expect(noExport.code).toBe(ExitCode.BAD_INPUT);
    expect(noExport.stderr).toMatch(/cannot read --export .*ENOENT/);
  });

  it(`exit code ${ExitCode.USAGE} for a backup of a store it cannot copy; ${ExitCode.INTERNAL} with the stack for a failure nothing else names (stdout on a full disk)`, async () => {
    const kurrent = await cli(['backup', '--to', mkdtempSync(path.join(tmpdir(), 'tenantry-cli-backup-'))], {
      ...env,
      TENANTRY_EVENT_STORE: 'memory',
    });
    expect(kurrent.code, kurrent.stderr).toBe(ExitCode.USAGE);
    expect(kurrent.stderr).toMatch(/configuration error: TENANTRY_EVENT_STORE/);

    const full = await new Promise<Run>((resolve, reject) => {
      const out = openSync('/dev/full', 'w');
      const child = spawn(process.execPath, tenantryArgs('tenants', 'list'), {
        cwd: root,
        env: { ...process.env, TENANTRY_LOG_LEVEL: 'error', ...env },
        stdio: ['ignore', out, 'pipe'],
      });
      closeSync(out);
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout: '', stderr }));
    });
    // Node's own ending for an unhandled 'error' event is exit 1, which means "verification failed".
    expect(full.code, full.stderr).toBe(ExitCode.INTERNAL);
    expect(full.stderr).toMatch(/^tenantry: internal error: Error: ENOSPC/);
    expect(full.stderr).toMatch(/\n\s+at /);
  });

  it(`a reader that goes away (tenantry … | head) ends the command with ${ExitCode.OK}, not an error`, async () => {
    // The reader closes its end at once; the CLI writes a second or more later, into a pipe nobody reads.
    const main = tenantryArgs('tenants', 'list', '--json')
      .map((arg) => `'${arg}'`)
      .join(' ');
    const shell = spawn('bash', ['-c', `'${process.execPath}' ${main} | { exec 0<&-; sleep 5; }; echo "status=\${PIPESTATUS[0]}"`], {
      cwd: root,
      env: { ...process.env, TENANTRY_LOG_LEVEL: 'error', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    shell.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    shell.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    await new Promise((resolve) => shell.on('close', resolve));
    expect(out.trim(), err).toBe(`status=${ExitCode.OK}`);
    expect(err).toBe('');
  });

  it(`exit code ${ExitCode.NOT_FOUND_OR_CONFLICT}: an unknown tenant, a tenant that exists, a revision that moved on`, async () => {
    const missing = await cli(['tenants', 'get', '--tenant', 'nobody'], env);
    expect(missing.code).toBe(ExitCode.NOT_FOUND_OR_CONFLICT);
    expect(missing.stderr).toMatch(/TENANT_NOT_FOUND/);
    const exists = await cli(['tenants', 'create', '--tenant', 'acme', '--name', 'Again'], env);
    expect(exists.code).toBe(ExitCode.NOT_FOUND_OR_CONFLICT);
    expect(exists.stderr).toMatch(/CONFLICT/);
    const stale = await cli(['tenants', 'update', '--tenant', 'acme', '--name', 'X', '--expected-revision', '99'], env);
    expect(stale.code).toBe(ExitCode.NOT_FOUND_OR_CONFLICT);
    for (const command of ['delete', 'restore']) {
      const refused = await cli(['tenants', command, '--tenant', 'acme', '--expected-revision', '99'], env);
      expect(refused.code, refused.stderr).toBe(ExitCode.NOT_FOUND_OR_CONFLICT);
      expect(refused.stderr).toMatch(/CONFLICT/);
    }
    // Nothing was deleted.
    expect((await cli(['tenants', 'get', '--tenant', 'acme'], env)).code).toBe(ExitCode.OK);
  });

  it(`exit code ${ExitCode.STORE_UNAVAILABLE}: the read models' MongoDB does not answer`, async () => {
    const port = await freePort(); // nothing listens there
    const run = await cli(['tenants', 'list'], {
      ...env,
      TENANTRY_READ_MODELS: 'mongodb',
      TENANTRY_MONGODB_URI: `mongodb://127.0.0.1:${port}/?serverSelectionTimeoutMS=1000`,
    });
    expect(run.code).toBe(ExitCode.STORE_UNAVAILABLE);
    expect(run.stderr).toMatch(/store unavailable/);
  });

  it(`exit code ${ExitCode.VERIFICATION_FAILED}: an export that does not match its signed checkpoint (offline verifier)`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-cli-verify-'));
    const exported = await cli(['events', 'export', '--tenant', 'acme'], env);
    expect(exported.code).toBe(ExitCode.OK);
    const exportFile = path.join(dir, 'acme.ndjson');
    writeFileSync(exportFile, exported.stdout);
    const checkpointFile = path.join(dir, 'acme.checkpoint.json');
    expect((await cli(['audit', 'checkpoint', '--tenant', 'acme', '--output', checkpointFile], env)).code).toBe(ExitCode.OK);

    const ok = await cli(['audit', 'verify', '--export', exportFile, '--checkpoint', checkpointFile, '--json'], env);
    expect(ok.code).toBe(ExitCode.OK);
    expect(jsonLines<{ ok: boolean }>(ok.stdout)[0]?.ok).toBe(true);

    writeFileSync(exportFile, exported.stdout.replace('"name":"Acme"', '"name":"Acne"'));
    const tampered = await cli(['audit', 'verify', '--export', exportFile, '--checkpoint', checkpointFile], env);
    expect(tampered.code).toBe(ExitCode.VERIFICATION_FAILED);
    expect(tampered.stdout).toMatch(/DOES NOT MATCH/);
  });

  it('tenants list / get / update / delete / restore, with --json for scripts', async () => {
    const listed = await cli(['tenants', 'list', '--json'], env);
    expect(listed.code).toBe(ExitCode.OK);
    expect(jsonLines<TenantJson>(listed.stdout).map((t) => t.id)).toEqual(['acme', 'main']);

    const updated = await cli(['tenants', 'update', '--tenant', 'acme', '--name', 'Acme Corp', '--domain', 'acme.example', '--json'], env);
    expect(updated.code).toBe(ExitCode.OK);
    expect(jsonLines<TenantJson>(updated.stdout)[0]).toMatchObject({ name: 'Acme Corp', domains: ['acme.example'] });

    expect((await cli(['tenants', 'delete', '--tenant', 'acme'], env)).code).toBe(ExitCode.OK);
    expect(jsonLines<TenantJson>((await cli(['tenants', 'list', '--json'], env)).stdout).map((t) => t.id)).toEqual(['main']);
    const withDeleted = jsonLines<TenantJson>((await cli(['tenants', 'list', '--deleted', '--json'], env)).stdout);
    expect(withDeleted.find((t) => t.id === 'acme')?.deleted).toBe(true);

    expect((await cli(['tenants', 'restore', '--tenant', 'acme'], env)).code).toBe(ExitCode.OK);
    const got = await cli(['tenants', 'get', '--tenant', 'acme', '--json'], env);
    expect(jsonLines<TenantJson>(got.stdout)[0]).toMatchObject({ id: 'acme', name: 'Acme Corp', deleted: false });
    // Human form: tab-separated, one line.
    expect((await cli(['tenants', 'get', '--tenant', 'acme'], env)).stdout).toMatch(/^acme\tAcme Corp\tactive\t\d+\tacme\.example\n$/);
  });

  it('--json on the other read commands: projections status, audit key, audit checkpoints', async () => {
    const status = await cli(['projections', 'status', '--json'], env);
    expect(status.code).toBe(ExitCode.OK);
    expect(jsonLines<{ projection: string }>(status.stdout).length).toBeGreaterThan(3);
    const key = await cli(['audit', 'key', '--json'], env);
    expect(jsonLines<{ keyId: string; publicKeyPem: string }>(key.stdout)[0]?.publicKeyPem).toMatch(/BEGIN PUBLIC KEY/);
    // At least the checkpoint signed here (earlier tests may have signed more): an empty list is a failure.
    const signed = await cli(['audit', 'checkpoint', '--tenant', 'acme'], env);
    expect(signed.code, signed.stderr).toBe(ExitCode.OK);
    const newest = JSON.parse(signed.stdout) as { checkpoint: { size: number; signature: string } };
    const checkpoints = await cli(['audit', 'checkpoints', '--tenant', 'acme', '--json'], env);
    expect(checkpoints.code).toBe(ExitCode.OK);
    const listed = jsonLines<{ tenantId: string; size: number; rootHash: string; signedAt: string; keyId: string; signature: string }>(
      checkpoints.stdout,
    );
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.at(-1)).toMatchObject({ tenantId: 'acme', size: newest.checkpoint.size, signature: newest.checkpoint.signature });
    // Human form: size, time, root, key id, tab-separated.
    const text = await cli(['audit', 'checkpoints', '--tenant', 'acme'], env);
    expect(text.stdout.trim().split('\n').at(-1)).toMatch(new RegExp(`^${newest.checkpoint.size}\t\\S+\t[0-9a-f]{64}\t[0-9a-f]{16}$`));
  });
});

describe('tenantry events import: progress and interruption', { timeout: 600_000 }, () => {
  it('Ctrl-C while the input is read writes nothing and says how to resume; re-running it completes', async () => {
    const env = storeEnv();
    expect((await cli(['tenants', 'create', '--tenant', 'acme', '--name', 'Acme', '--admin-user', 'admin'], env)).code).toBe(0);
    const exported = await cli(['events', 'export', '--tenant', 'acme'], env);
    const lines = exported.stdout.split('\n').filter((l) => l);
    const head = (JSON.parse(lines[0] ?? '{}') as { headPosition: number }).headPosition;
    expect(lines.length).toBeGreaterThan(2);

    // Half the export on a pipe that stays open, then Ctrl-C.
    const child = spawn(process.execPath, tenantryArgs('events', 'import', '--tenant', 'copy'), {
      cwd: root,
      env: { ...process.env, TENANTRY_LOG_LEVEL: 'error', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdin.write(`${lines.slice(0, 2).join('\n')}\n`);
    for (const deadline = Date.now() + 60_000; !stderr.includes('reading the export');) {
      if (Date.now() > deadline) throw new Error(`the import never started reading: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGINT');
    expect(await closed).toBe(ExitCode.INTERRUPTED);
    expect(stderr).toMatch(/interrupted .*run the same command with the same input again to resume/);

    const resumed = await cli(['events', 'import', '--tenant', 'copy'], env, exported.stdout);
    expect(resumed.code).toBe(ExitCode.OK);
    // Progress counts against the head position the export's header names.
    expect(resumed.stderr).toContain(`import copy: 0/${head}`);
    expect(resumed.stderr).toMatch(/imported \d+ events of tenant acme as copy/);
    const copy = await cli(['events', 'export', '--tenant', 'copy'], env);
    expect(copy.stdout.split('\n').filter((l) => l).length).toBe(lines.length);
  });
});

describe('importTenant stopped by its signal', () => {
  it('writes what it read, reports completed: false, and the same import then completes without writing twice', async () => {
    const gw = await startTestGateway();
    try {
      expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
      for (const id of ['a', 'b', 'c'])
        expectData(await gw.gql(`mutation { createNamespace(input: {id: "${id}"}) { id } }`, {}, { tenant: 'acme' }));
      const exported: string[] = [];
      for await (const line of exportTenant(gw.app, 'acme')) exported.push(line.trimEnd());
      const source = () =>
        (async function* () {
          yield* exported;
        })();
      // Ctrl-C in the middle of the writing pass (the second read of the input): after the header and two events.
      const controller = new AbortController();
      let opened = 0;
      const interrupted = () =>
        (async function* () {
          opened++;
          for (const [i, line] of exported.entries()) {
            if (opened === 2 && i === 3) controller.abort();
            yield line;
          }
        })();
      const start = await gw.eventCount();
      const progress: { sourcePosition?: number; head: number }[] = [];
      const stopped = await importTenant(gw.app, 'copy', interrupted, (p) => progress.push(p), controller.signal);
      expect(stopped).toMatchObject({ completed: false, events: 2 });
      expect(await gw.eventCount()).toBe(start + 2);
      // Progress against the export's head: from 0, and the position of the last event read when stopped.
      const head = (JSON.parse(exported[0] ?? '{}') as { headPosition: number }).headPosition;
      expect(progress[0]).toMatchObject({ sourcePosition: 0, head });
      expect(progress.at(-1)?.sourcePosition).toBe((JSON.parse(exported[2] ?? '{}') as { position: number }).position);

      const resumed = await importTenant(gw.app, 'copy', source);
      expect(resumed.completed).toBe(true);
      expect(await gw.eventCount()).toBe(start + exported.length - 1);
    } finally {
      await gw.dispose();
    }
  });
});
