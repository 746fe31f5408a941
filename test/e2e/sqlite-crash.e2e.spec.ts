/**
 * SQLite read models (the embedded default) through crashes and rebuilds:
 * kill -9 during a mutation burst and during a rebuild, SIGINT during a
 * rebuild, a staged rebuild killed after a flush, and a tenant rebuild from
 * the CLI beside a running gateway sharing the file (projection leases).
 * After each, the read models equal a clean rebuild from the same log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { v4 as uuid } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READ_MODELS_FILE } from '../../src/application/application.js';
import { eventIdFor } from '../../src/commands/handler.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import type { NewEvent } from '../../src/eventstore/port.js';
import { allProjections } from '../../src/projections/index.js';
import { physicalName } from '../../src/projections/runtime/aliases.js';
import { SqliteDocumentStore } from '../../src/readmodels/sqlite.js';
import { startGatewayProcess, waitCaughtUp } from '../support/process.js';
import { TEST_AUDIT_SIGNING_KEY } from '../support/signing.js';
import { tenantryArgs } from '../support/tenantry-command.js';

const root = path.resolve(import.meta.dirname, '../..');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-sqlite-crash-'));
  dirs.push(dir);
  return dir;
}

const env = (dataDir: string): Record<string, string> => ({
  TENANTRY_DATA_DIR: dataDir,
  TENANTRY_READ_MODELS: 'sqlite',
  TENANTRY_MASTER_KEY: Buffer.alloc(32, 9).toString('base64'),
  TENANTRY_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
  TENANTRY_PROJECTION_LEASE_MS: '1500',
  TENANTRY_LOG_LEVEL: 'warn',
});

async function seedLog(file: string, count: number): Promise<void> {
  const store = new SqliteEventStore(file, { synchronous: 'NORMAL' });
  for (let i = 0; i < count; i += 5) {
    const tenantId = i % 10 === 0 ? 't1' : 't2';
    const id = `ns${i}`;
    const events: NewEvent[] = [0, 1, 2, 3, 4].map((r) => {
      const command = uuid();
      return {
        id: eventIdFor(command, 0),
        type: r === 0 ? 'NamespaceCreated' : 'NamespaceUpdated',
        schemaVersion: 1,
        data: r === 0 ? { id, description: null } : { id, changes: { description: { before: null, after: `r${r}` } } },
        metadata: {
          tenantId,
          namespace: id,
          actor: { type: 'SYSTEM', id: 'seed' },
          correlationId: command,
          commandId: command,
          occurredAt: '2026-01-01T00:00:00.000Z',
        },
      };
    });
    await store.appendToStream(`${tenantId}/namespace/${id}`, events, { expectedRevision: 'no_stream' });
  }
  await store.close();
}

/** A data dir holding a copy of `log` (events.sqlite) and nothing else. */
function withLog(log: string): string {
  const dir = tempDir();
  copyFileSync(log, path.join(dir, 'events.sqlite'));
  return dir;
}

interface CliRun {
  code: number | null;
  signal: string | null;
  stderr: string;
}

function cli(args: string[], dataDir: string, onStderr?: (stderr: string, child: ChildProcess) => void): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, tenantryArgs(...args), {
      cwd: root,
      env: { ...process.env, ...env(dataDir) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      onStderr?.(stderr, child);
    });
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/** Every document of every projection's serving generation, by logical collection. */
async function readModels(dataDir: string, only?: string): Promise<Record<string, unknown[]>> {
  const store = SqliteDocumentStore.open(path.join(dataDir, READ_MODELS_FILE));
  try {
    const aliases = store.collection<{ _id: string; target: string }>('read_model_aliases');
    const out: Record<string, unknown[]> = {};
    for (const projection of allProjections()) {
      if (only && projection.name !== only) continue;
      const alias = await aliases.findOne({ _id: projection.name });
      const target = alias?.target ?? 'v1';
      for (const logical of Object.keys(projection.collections)) {
        out[logical] = await store.collection(physicalName(logical, target)).find({}, { sort: { _id: 1 } });
      }
    }
    return out;
  } finally {
    await store.close();
  }
}

const progressed = /namespaces: \d+\/\d+/;

describe('SQLite read models through crashes and rebuilds', () => {
  const log = path.join(tempDir(), 'events.sqlite');
  let cleanDir = '';

  let expected: Record<string, unknown[]> = {};

  // One log of 20,000 events for the rebuild tests, and its clean rebuild.
  beforeAll(async () => {
    await seedLog(log, 20_000);
    cleanDir = withLog(log);
    const clean = await cli(['projections', 'rebuild', '--projection', 'namespaces'], cleanDir);
    if (clean.code !== 0) throw new Error(`clean rebuild failed: ${clean.stderr}`);
    expected = await readModels(cleanDir, 'namespaces');
  }, 240_000);

  it('a rebuild killed with SIGKILL halfway, and one stopped with SIGINT, end equal to a clean rebuild when run again', async () => {
    expect(expected['namespaces']).toHaveLength(4000);

    const killedDir = withLog(log);
    const killed = await cli(['projections', 'rebuild', '--projection', 'namespaces'], killedDir, (err, child) => {
      if (progressed.test(err)) child.kill('SIGKILL');
    });
    expect(killed.signal).toBe('SIGKILL');
    const resumed = await cli(['projections', 'rebuild', '--projection', 'namespaces'], killedDir);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(Number(/namespaces: (\d+) events in/.exec(resumed.stderr)?.[1])).toBeLessThan(20_000);
    expect(await readModels(killedDir, 'namespaces')).toEqual(expected);

    const interruptedDir = withLog(log);
    let sent = false;
    const interrupted = await cli(['projections', 'rebuild', '--projection', 'namespaces'], interruptedDir, (err, child) => {
      if (!sent && progressed.test(err)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    expect(interrupted.code, interrupted.stderr).toBe(130);
    expect(interrupted.stderr).toMatch(/namespaces: stopped after \d+ events; run the same command again to resume/);
    const finished = await cli(['projections', 'rebuild', '--projection', 'namespaces'], interruptedDir);
    expect(finished.code, finished.stderr).toBe(0);
    expect(Number(/namespaces: (\d+) events in/.exec(finished.stderr)?.[1])).toBeLessThan(20_000);
    expect(await readModels(interruptedDir, 'namespaces')).toEqual(expected);
  }, 300_000);

  it('a staged rebuild killed after a flush and run again ends equal to a clean rebuild', async () => {
    const stagedDir = withLog(log);
    const args = ['projections', 'rebuild', '--projection', 'namespaces', '--staged', '--flush-every', '2000'];
    const child = spawn(process.execPath, tenantryArgs(...args), {
      cwd: root,
      env: { ...process.env, ...env(stagedDir) },
      stdio: 'ignore',
    });
    const exited = new Promise<string | null>((resolveExit) => child.on('exit', (_code, signal) => resolveExit(signal)));
    // Killed as soon as a flush moved its checkpoint (read from the shared file): the flushed part is kept, the rest replayed.
    const flushed = async (): Promise<number> => {
      let store: SqliteDocumentStore;
      try {
        store = SqliteDocumentStore.open(path.join(stagedDir, READ_MODELS_FILE));
      } catch {
        return 0; // not created yet
      }
      try {
        const rows = await store.collection<{ _id: string; position: number }>('projection_checkpoints').find({});
        return rows.find((c) => c._id.startsWith('namespaces_'))?.position ?? 0;
      } finally {
        await store.close();
      }
    };
    let killedAt = 0;
    for (let running = true; running;) {
      killedAt = await flushed();
      if (killedAt > 0) {
        child.kill('SIGKILL');
        running = false;
      } else {
        running = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 10))]);
      }
    }
    expect(await exited).toBe('SIGKILL');
    expect(killedAt).toBeGreaterThanOrEqual(2000);
    expect(killedAt).toBeLessThan(20_000);
    const resumed = await cli(args, stagedDir);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(Number(/namespaces: (\d+) events in/.exec(resumed.stderr)?.[1])).toBeLessThan(20_000);
    expect(await readModels(stagedDir, 'namespaces')).toEqual(expected);
  }, 300_000);

  it("a tenant rebuild from the CLI pauses a running gateway's projector on the shared file, rewrites that tenant only, and hands back", async () => {
    const dataDir = tempDir();
    await seedLog(path.join(dataDir, 'events.sqlite'), 1000);
    const gateway = await startGatewayProcess(env(dataDir));
    await waitCaughtUp(gateway.url());
    try {
      const file = path.join(dataDir, READ_MODELS_FILE);
      const before = (await readModels(dataDir, 'namespaces'))['namespaces'] as { tenantId: string }[];
      const store = SqliteDocumentStore.open(file);
      const alias = await store.collection<{ _id: string; target: string }>('read_model_aliases').findOne({ _id: 'namespaces' });
      await store.collection(physicalName('namespaces', alias?.target ?? 'v1')).updateMany({}, { $set: { description: 'CORRUPT' } });
      await store.close();

      const run = await cli(['projections', 'rebuild', '--projection', 'namespaces', '--tenant', 't1'], dataDir);
      expect(run.code, run.stderr).toBe(0);
      const after = (await readModels(dataDir, 'namespaces'))['namespaces'] as { tenantId: string; description: string }[];
      expect(after.filter((d) => d.tenantId === 't1')).toEqual(before.filter((d) => d.tenantId === 't1'));
      expect(after.filter((d) => d.tenantId === 't2').every((d) => d.description === 'CORRUPT')).toBe(true);

      const created = await gateway.gql<{ createNamespace: { id: string } }>(
        'main',
        `mutation { createNamespace(input: {id: "after.rebuild"}) { id } }`,
      );
      expect(created.errors).toBeUndefined();
      const listed = await gateway.gql<{ namespaces: { id: string }[] }>('main', `{ namespaces(prefix: "after.") { id } }`);
      expect(listed.data?.namespaces.map((n) => n.id)).toEqual(['after.rebuild']);
    } finally {
      gateway.child.kill('SIGKILL');
    }
  }, 120_000);

  it('kill -9 during a burst of mutations: after restart the read models equal a clean rebuild of the log', async () => {
    const dataDir = tempDir();
    const gateway = await startGatewayProcess(env(dataDir));
    let answered = 0;
    let killed = false;
    const writers = [0, 1, 2, 3].map(async (w) => {
      for (let i = 0; !killed && i < 10_000; i++) {
        const result = await gateway
          .gql<{ createNamespace: { id: string } }>('main', `mutation { createNamespace(input: {id: "ns.w${w}.n${i}"}) { id } }`)
          .catch(() => null);
        if (result?.data?.createNamespace) answered++;
      }
    });
    const deadline = Date.now() + 60_000;
    while (answered < 60) {
      if (Date.now() > deadline) throw new Error(`only ${answered} mutations answered in 60 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
    gateway.child.kill('SIGKILL');
    killed = true;
    await Promise.all(writers);
    if (gateway.child.exitCode === null && gateway.child.signalCode === null) await new Promise((r) => gateway.child.once('exit', r));

    // Restarted: it catches up the tail of the log past its checkpoints. Waited
    // for until no projection is behind at all: /readyz answers 200 already
    // within TENANTRY_READY_MAX_LAG_EVENTS (1,000) of the head, and a SIGTERM
    // then would stop the catch-up short of the last events.
    const restarted = await startGatewayProcess(env(dataDir));
    await waitCaughtUp(restarted.url());
    restarted.child.kill('SIGTERM');
    await new Promise((r) => restarted.child.once('exit', r));
    const recovered = await readModels(dataDir);

    // A clean rebuild of every projection from a copy of the same log.
    const cleanCopy = withLog(path.join(dataDir, 'events.sqlite'));
    const rebuilt = await cli(['projections', 'rebuild'], cleanCopy);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    const clean = await readModels(cleanCopy);
    expect((recovered['namespaces'] ?? []).length).toBeGreaterThanOrEqual(60);
    for (const name of Object.keys(clean)) expect(recovered[name], name).toEqual(clean[name]);
  }, 180_000);
});
