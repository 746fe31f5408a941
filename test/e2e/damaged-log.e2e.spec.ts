import type Database from 'better-sqlite3';
import { mkdtempSync, openSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ADMIN_TOKEN, errorCode, expectData, startTestGateway } from '../support/gateway.js';
import { runCli } from '../support/process.js';

/**
 * Issue 19: "a corrupt page or an unreadable event must stop the process
 * from answering GraphQL from a partial state". Pages of a real
 * events.sqlite are overwritten with garbage; `tenantry events check` finds
 * it, a start refuses it (exit 6), and a running gateway that meets it
 * answers every request SERVICE_UNAVAILABLE and /readyz 503.
 */
const dirs: string[] = [];
const newDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-damaged-log-'));
  dirs.push(dir);
  return dir;
};
const env = (dir: string) => ({ TENANTRY_DATA_DIR: dir, TENANTRY_EVENT_STORE: 'sqlite', TENANTRY_ADMIN_TOKEN: ADMIN_TOKEN });

/** Overwrites the middle fifth of the file (whole pages past the schema's first pages) with garbage. */
function damage(file: string): void {
  const size = statSync(file).size;
  const page = 4096;
  const from = Math.max(8, Math.floor((size * 0.4) / page)) * page;
  const length = Math.max(page, Math.floor((size * 0.2) / page) * page);
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, Buffer.alloc(length, 0xa5), 0, length, from);
  } finally {
    closeSync(fd);
  }
}

/** A data dir whose log holds enough events to span many pages (a namespace's variables rewritten, 20 KB each). */
async function filledDataDir(): Promise<string> {
  const dir = newDir();
  const gw = await startTestGateway({ eventStore: 'sqlite', dataDir: dir, env: { TENANTRY_VAULT: 'embedded' } });
  try {
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "company"}) { id } }`, {}, { tenant: 'main' }));
    for (let i = 0; i < 60; i++) {
      expectData(
        await gw.gql(
          `mutation($v: JSON) { updateNamespace(id: "company", input: {variables: $v}) { revision } }`,
          { v: { blob: `${i}`.padEnd(20_000, 'x') } },
          { tenant: 'main' },
        ),
      );
    }
  } finally {
    await gw.stop();
  }
  return dir;
}

describe('a log with unreadable pages (real events.sqlite, pages overwritten)', () => {
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('`tenantry events check` says ok on a sound log and names the damage on a damaged one (exit 1)', async () => {
    const dir = await filledDataDir();
    const sound = await runCli(['events', 'check'], env(dir), 60_000);
    expect(sound.code).toBe(0);
    expect(sound.stdout).toMatch(/events\.sqlite: ok, \d+ events, every page readable/);
    damage(path.join(dir, 'events.sqlite'));
    const damaged = await runCli(['events', 'check', '--json'], env(dir), 60_000);
    expect(damaged.code).toBe(1);
    const result = JSON.parse(damaged.stdout) as { ok: boolean; problems: string[] };
    expect(result.ok).toBe(false);
    expect(result.problems.length).toBeGreaterThan(0);
  }, 120_000);

  it('a start that reads the damaged pages ends: one line, exit code 6 (not waited for as a store that is down)', async () => {
    const dir = await filledDataDir();
    damage(path.join(dir, 'events.sqlite'));
    // In-memory read models are built from the whole log at start, so the start meets the damage.
    const run = await runCli(['serve'], { ...env(dir), TENANTRY_PORT: '0', TENANTRY_READ_MODELS: 'memory' }, 60_000);
    expect(run.code).toBe(6);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^tenantry: damaged data dir: the event log .* is damaged: SQLITE_(CORRUPT|NOTADB)/);
  }, 120_000);

  it('a running gateway that meets the damage answers every request SERVICE_UNAVAILABLE and /readyz 503, naming it', async () => {
    const dir = await filledDataDir();
    const gw = await startTestGateway({
      eventStore: 'sqlite',
      dataDir: dir,
      env: { TENANTRY_VAULT: 'embedded', TENANTRY_SESSION_RECHECK_MS: '200' },
    });
    const ws = `${gw.url.replace(/^http/, 'ws')}/api/v1/main/graphql`;
    /** Opens a subscription; resolves with the close code of its socket (or -1 when it ended any other way). */
    const subscription = () => {
      const client = createClient({
        url: ws,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` },
        retryAttempts: 0,
      });
      const closed = new Promise<number>((resolve) => {
        client.subscribe(
          { query: 'subscription { auditLogAppended { id } }' },
          {
            next: () => undefined,
            error: (error: unknown) => resolve((error as { code?: number }).code ?? -1),
            complete: () => resolve(-1),
          },
        );
      });
      return { client, closed };
    };
    const open = subscription();
    try {
      expectData(await gw.gql(`{ tenants { id } }`));
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The log's own connection (a test hook): its pages back on disk, and a page cache too small to hold them,
      // so that the next read of old events reads the damaged pages, as it would once the cache had moved on.
      const db = (gw.app.events as unknown as { db: Database.Database }).db;
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.pragma('cache_size = 1');
      damage(path.join(dir, 'events.sqlite'));
      // A full verification reads the whole log from storage.
      const met = await gw.gql(`{ verifyAuditLog(full: true) { ok } }`, {}, { tenant: 'main' });
      expect(errorCode(met)).toBe('SERVICE_UNAVAILABLE');
      // From then on, nothing is answered from the read models either.
      const after = await gw.gql(`{ tenants { id } }`);
      expect(after.status).toBe(503);
      expect(errorCode(after)).toBe('SERVICE_UNAVAILABLE');
      const ready = await fetch(`${gw.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: Record<string, string> }).checks['eventStore']).toMatch(/damaged: SQLITE_(CORRUPT|NOTADB)/);
      // Nor from any other route: an export download, a new subscription, one that was open before.
      const exported = await fetch(`${gw.url}/api/v1/main/audit-logs/export`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(exported.status).toBe(503);
      expect(await exported.text()).toMatch(/event log is damaged/);
      const late = subscription();
      expect(await late.closed).toBe(1013);
      await late.client.dispose();
      // The open one ends at its next re-check (every 200 ms here), with WebSocket's "try again later".
      expect(await open.closed).toBe(1013);
    } finally {
      await open.client.dispose();
      await gw.dispose().catch(() => undefined);
    }
  }, 120_000);
});
