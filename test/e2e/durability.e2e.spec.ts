import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { ADMIN_TOKEN, expectData, startTestGateway } from '../support/gateway.js';
import { freePort, waitCaughtUp } from '../support/process.js';
import { tenantryArgs } from '../support/tenantry-command.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-durability-'));
  dirs.push(dir);
  return dir;
}

describe('the SQLite log is the source of truth', () => {
  it('survives a restart: read models are rebuilt from the log', async () => {
    const dataDir = tempDir();
    const first = await startTestGateway({ dataDir });
    expectData(await first.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    expectData(await first.gql(`mutation { createNamespace(input: {id: "company.team"}) { id } }`, {}, { tenant: 'acme' }));
    await first.dispose();

    const second = await startTestGateway({ dataDir });
    const listed = expectData(await second.gql<{ namespaces: { id: string }[] }>(`{ namespaces { id } }`, {}, { tenant: 'acme' }));
    expect(listed.namespaces.map((n) => n.id)).toEqual(['company.team']);
    await second.dispose();
  });
});

async function startProcess(dataDir: string, port: number): Promise<ChildProcess> {
  // A real separate process, so that kill -9 kills the whole gateway mid-write.
  const child = spawn(process.execPath, tenantryArgs('serve'), {
    cwd: path.resolve(import.meta.dirname, '../..'),
    env: {
      ...process.env,
      TENANTRY_DATA_DIR: dataDir,
      TENANTRY_PORT: String(port),
      TENANTRY_ADMIN_TOKEN: ADMIN_TOKEN,
      TENANTRY_LOG_LEVEL: 'warn',
      TENANTRY_EVENT_STORE: 'sqlite',
      TENANTRY_READ_MODELS: 'memory',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return child;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('gateway process did not become ready');
}

async function createNamespace(port: number, id: string): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/main/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query: `mutation { createNamespace(input: {id: "${id}"}) { id } }` }),
    });
    const body = (await response.json()) as { data?: { createNamespace?: { id: string } } };
    return body.data?.createNamespace?.id === id;
  } catch {
    return false;
  }
}

describe('kill -9 during a stream of mutations', () => {
  it('every answered mutation is present after restart, once; read models match the log', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const child = await startProcess(dataDir, port);
    const answered: string[] = [];
    let killed = false;
    // Four concurrent writers until the process dies under them.
    const writers = [0, 1, 2, 3].map(async (w) => {
      for (let i = 0; !killed && i < 10_000; i++) {
        const id = `ns-w${w}-${i}`;
        if (await createNamespace(port, id)) answered.push(id);
      }
    });
    const deadline = Date.now() + 30_000;
    while (answered.length < 40) {
      if (Date.now() > deadline) throw new Error(`only ${answered.length} mutations answered in 30 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    killed = true;
    await Promise.all(writers);
    if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
    expect(answered.length).toBeGreaterThanOrEqual(40);

    const restarted = await startProcess(dataDir, port);
    try {
      // Caught up, not only ready (ready allows a lag of TENANTRY_READY_MAX_LAG_EVENTS).
      await waitCaughtUp(`http://127.0.0.1:${port}`);
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/main/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify({ query: `{ namespaces { id } }` }),
      });
      const body = (await response.json()) as { data: { namespaces: { id: string }[] } };
      const listed = new Set(body.data.namespaces.map((n) => n.id));
      for (const id of answered) expect(listed.has(id), id).toBe(true);

      // The log holds each namespace once, and the read model holds exactly what the log says.
      const log = new SqliteEventStore(path.join(dataDir, 'events.sqlite'));
      const created = (await log.readAll({ maxCount: 1_000_000 }))
        .filter((e) => e.type === 'NamespaceCreated')
        .map((e) => (e.data as { id: string }).id);
      await log.close();
      expect(new Set(created).size).toBe(created.length);
      expect([...listed].sort()).toEqual([...created].sort());
    } finally {
      restarted.kill('SIGKILL');
    }
  }, 90_000);
});
