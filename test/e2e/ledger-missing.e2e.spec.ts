/**
 * Issue 15, a ledger that lost events: with the read models in SQLite (the
 * default) the ledger projection's checkpoint is in `readmodels.sqlite`, so
 * a `ledger.sqlite` deleted or truncated while the gateway was stopped would
 * never be filled again, and verification had nothing to compare the log
 * with. The start is refused (exit code 6) until the ledger is restored or
 * explicitly rebuilt (`tenantry audit rebuild-ledger`, which warns); while
 * running, verification names the first event the ledger should hold but
 * does not (source `ledger`). docs/ledger.md, "A ledger that lost events".
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignedCheckpoint } from '../../src/ledger/checkpoint.js';
import { Frontier } from '../../src/shared/merkle.js';
import { ADMIN_TOKEN, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { CHECKPOINT, verifyAcme, withFile, type Verification } from '../support/ledger-files.js';
import { runCli } from '../support/process.js';
import { TEST_AUDIT_SIGNING_KEY } from '../support/signing.js';

const VERIFY_COUNTED = `{ verifyAuditLog(full: true) { ok firstBrokenPosition reason source checkedEvents checkedCheckpoints } }`;

const start = (dataDir: string) => startTestGateway({ dataDir, readModels: 'sqlite', env: { TENANTRY_AUDIT_CHECKPOINT_INTERVAL_MS: '0' } });
const cliEnv = (dataDir: string) => ({
  TENANTRY_DATA_DIR: dataDir,
  TENANTRY_READ_MODELS: 'sqlite',
  TENANTRY_EVENT_STORE: 'sqlite',
  TENANTRY_ADMIN_TOKEN: ADMIN_TOKEN,
  TENANTRY_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
  TENANTRY_PORT: '0',
});

const verify = (gw: TestGateway): Promise<Verification> => verifyAcme(gw, VERIFY_COUNTED);

const withLog = <T>(dir: string, work: (db: Database.Database) => T) => withFile(path.join(dir, 'events.sqlite'), work);
const withLedger = <T>(dir: string, work: (db: Database.Database) => T) => withFile(path.join(dir, 'ledger.sqlite'), work);

const acmePositions = (dir: string): number[] =>
  withLog(dir, (db) =>
    db.prepare<[], { position: number }>(`SELECT position FROM events WHERE stream LIKE 'acme/%' ORDER BY position`).all(),
  ).map((r) => r.position);

/** The reviewer's edit: an event's metadata.commandId, which no read model shows. */
const editCommandId = (dir: string, position: number) =>
  withLog(dir, (db) =>
    db.prepare(`UPDATE events SET metadata = json_set(metadata, '$.commandId', 'forged-command') WHERE position = ?`).run(position),
  );

const deleteLedger = (dir: string) => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path.join(dir, `ledger.sqlite${suffix}`), { force: true });
};

/**
 * Removes acme's leaves from index `keep` on and the nodes over them, and
 * moves its head back to a consistent tree of `keep` leaves: a ledger
 * smaller than the log, as an older copy would be. Checkpoint rows stay.
 */
function truncateLedger(dir: string, keep: number): void {
  withLedger(dir, (db) => {
    const leaves = db
      .prepare<[number], { position: number; hash: Buffer }>(
        `SELECT position, hash FROM leaves WHERE tenant = 'acme' AND idx < ? ORDER BY idx`,
      )
      .all(keep);
    const frontier = new Frontier(0, []);
    for (const leaf of leaves) frontier.append(leaf.hash);
    db.transaction(() => {
      db.prepare(`DELETE FROM leaves WHERE tenant = 'acme' AND idx >= ?`).run(keep);
      db.prepare(`DELETE FROM nodes WHERE tenant = 'acme' AND ((idx + 1) << level) > ?`).run(keep);
      db.prepare(`UPDATE heads SET size = ?, position = ?, frontier = ? WHERE tenant = 'acme'`).run(
        keep,
        leaves.at(-1)!.position,
        Buffer.concat(frontier.hashes()),
      );
    })();
  });
}

describe('a ledger that lost events (read models in SQLite): refused at start, named by verification', () => {
  const dirs: string[] = [];
  let base: string;
  let positions: number[];
  let checkpoint: SignedCheckpoint;

  const copy = (): string => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-ledger-missing-'));
    dirs.push(dir);
    cpSync(base, dir, { recursive: true });
    return dir;
  };

  beforeAll(async () => {
    base = mkdtempSync(path.join(tmpdir(), 'tenantry-ledger-missing-base-'));
    dirs.push(base);
    const gw = await start(base);
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    for (let i = 0; i < 8; i++) {
      expectData(await gw.gql(`mutation { createNamespace(input: {id: "team.n${i}"}) { id } }`, {}, { tenant: 'acme' }));
    }
    await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
    checkpoint = expectData(
      await gw.gql<{ signAuditCheckpoint: SignedCheckpoint }>(CHECKPOINT, {}, { tenant: 'acme' }),
    ).signAuditCheckpoint;
    expect(await verify(gw)).toMatchObject({ ok: true, checkedCheckpoints: 1 });
    // Another tenant's events after acme's: a truncated acme ledger is then found by the start's per-tenant check.
    expectData(await gw.gql(`mutation { createTenant(input: {id: "other", name: "Other", adminUserId: "admin"}) { id } }`));
    await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
    await gw.stop();
    positions = acmePositions(base);
    expect(positions.length).toBe(checkpoint.size);
  }, 120_000);

  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('ledger.sqlite deleted and an event edited while stopped: the start is refused, exit code 6, in one line', async () => {
    const dir = copy();
    deleteLedger(dir);
    editCommandId(dir, positions[3]!);
    await expect(start(dir)).rejects.toThrow(
      /holds no ledger at all, but the ledger projection's checkpoint says the log was hashed up to position/,
    );
    const run = await runCli(['serve'], cliEnv(dir), 60_000);
    expect(run.code, run.stderr).toBe(6); // ExitCode.DATA_DIR_DAMAGED
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^tenantry: damaged data dir: .*ledger\.sqlite holds no ledger at all.*tenantry audit rebuild-ledger/);
  }, 120_000);

  it('ledger.sqlite truncated (smaller than the log) and an event edited while stopped: the start is refused, naming the first missing event', async () => {
    const dir = copy();
    truncateLedger(dir, 5);
    editCommandId(dir, positions[6]!);
    await expect(start(dir)).rejects.toThrow(
      new RegExp(
        `holds the ledger of acme up to position ${positions[4]}, but .*the event at position ${positions[5]} \\(tenant acme\\) is missing`,
      ),
    );
    const run = await runCli(['tenants', 'list'], cliEnv(dir), 60_000);
    expect(run.code, run.stderr).toBe(6);
  }, 120_000);

  it('after `tenantry audit rebuild-ledger` (which warns), a kept checkpoint the rebuilt tree does not reach still fails verification', async () => {
    const dir = copy();
    truncateLedger(dir, 5);
    editCommandId(dir, positions[6]!); // inside the signed checkpoint's span, past the truncated ledger
    const rebuilt = await runCli(['audit', 'rebuild-ledger'], cliEnv(dir), 60_000);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.stderr).toMatch(/WARNING: the ledger is rebuilt from the event log as it is now/);
    const gw = await start(dir);
    try {
      const result = await verify(gw);
      expect(result).toMatchObject({ ok: false, source: 'checkpoint', firstBrokenPosition: String(positions.at(-1)) });
      expect(result.reason).toMatch(new RegExp(`no longer reaches the root signed at size ${checkpoint.size}`));
    } finally {
      await gw.stop();
    }
  }, 120_000);

  it('`tenantry audit rebuild-ledger` is refused (exit 4, naming the holder) while a gateway runs on the data dir; it runs once the gateway stopped', async () => {
    const dir = copy();
    const gw = await start(dir);
    let stopped = false;
    try {
      const refused = await runCli(['audit', 'rebuild-ledger'], cliEnv(dir), 60_000);
      expect(refused.code, refused.stderr).toBe(4);
      expect(refused.stderr).toMatch(/^tenantry: .*a gateway or projector \(.+\) runs the ledger projection on these stores .*stop it/);
      expect(refused.stderr).not.toMatch(/WARNING: the ledger is rebuilt/);
      // Nothing was reset: the ledger projection's checkpoint is where the gateway left it.
      const checkpoint = withFile(path.join(dir, 'readmodels.sqlite'), (db) => {
        const table = db.prepare<[], { id: number }>(`SELECT id FROM tenantry_collections WHERE name = 'projection_checkpoints'`).get();
        return db.prepare<[], { doc: string }>(`SELECT doc FROM c${table!.id} WHERE k LIKE 'ledger%'`).get();
      });
      expect(JSON.parse(checkpoint!.doc)).toMatchObject({ position: expect.any(Number) as number });
      expect(await verify(gw)).toMatchObject({ ok: true });
      await gw.stop();
      stopped = true;
      const rebuilt = await runCli(['audit', 'rebuild-ledger'], cliEnv(dir), 60_000);
      expect(rebuilt.code, rebuilt.stderr).toBe(0);
      expect(rebuilt.stderr).toMatch(/WARNING: the ledger is rebuilt/);
    } finally {
      if (!stopped) await gw.stop();
    }
  }, 120_000);

  /** A gateway on a copy; `tamper` changes its ledger (and log) under it; then it verifies. */
  async function whileRunning(tamper: (dir: string) => void): Promise<Verification> {
    const dir = copy();
    const gw = await start(dir);
    try {
      expect(await verify(gw)).toMatchObject({ ok: true });
      tamper(dir);
      return await verify(gw);
    } finally {
      await gw.stop();
    }
  }

  it("while running: acme's ledger rows deleted and an event edited: verification names the first event, source ledger", async () => {
    const result = await whileRunning((dir) => {
      withLedger(dir, (db) => {
        for (const table of ['heads', 'leaves', 'nodes', 'checkpoints']) db.prepare(`DELETE FROM ${table} WHERE tenant = 'acme'`).run();
      });
      editCommandId(dir, positions[3]!);
    });
    expect(result).toMatchObject({ ok: false, source: 'ledger', firstBrokenPosition: String(positions[0]) });
    expect(result.reason).toMatch(/is not in the ledger.*hashed the log up to position/);
  });

  it('while running: the ledger truncated behind the log and an event edited past it: verification names the first missing event, source ledger', async () => {
    const result = await whileRunning((dir) => {
      truncateLedger(dir, 5);
      editCommandId(dir, positions[6]!);
    });
    expect(result).toMatchObject({ ok: false, source: 'ledger', firstBrokenPosition: String(positions[5]) });
    expect(result.reason).toMatch(/is not in the ledger, which holds 5 events/);
  });

  it('an untouched copy starts and verifies', async () => {
    const gw = await start(copy());
    try {
      expect(await verify(gw)).toMatchObject({ ok: true, checkedEvents: checkpoint.size, checkedCheckpoints: 1 });
    } finally {
      await gw.stop();
    }
  });
});
