/**
 * Issue 15, continued from ledger-tamper.e2e.spec.ts: tampering with the
 * ledger's own store, checked at the level of verifyAuditLog(full: true)
 * after a restart. Signed checkpoints edited, signed by an unknown key,
 * beyond the ledger, or outliving a rewrite of the log and the ledger
 * together; the ledger's interior nodes and head edited. Each is found,
 * with the `source` and position docs/ledger.md gives.
 */
import { createPublicKey } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointFile } from '../../src/application/ledger-offline.js';
import { SigningKey, type SignedCheckpoint } from '../../src/ledger/checkpoint.js';
import { Frontier } from '../../src/shared/merkle.js';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { CHECKPOINT, verifyAcme, withFile, type Verification } from '../support/ledger-files.js';
import { runCli } from '../support/process.js';
import { TEST_AUDIT_SIGNING_KEY } from '../support/signing.js';

/** Read models in memory: a restart hashes the log again from the first event (skipping what the ledger's heads cover). */
const start = (dataDir: string) => startTestGateway({ dataDir, readModels: 'memory', env: { TENANTRY_AUDIT_CHECKPOINT_INTERVAL_MS: '0' } });

const verify = (gw: TestGateway): Promise<Verification> => verifyAcme(gw);

const insertCheckpoint = (db: Database.Database, c: SignedCheckpoint) =>
  db
    .prepare('INSERT INTO checkpoints (tenant, size, signed_at, root, key_id, signature) VALUES (?, ?, ?, ?, ?, ?)')
    .run(c.tenantId, c.size, c.signedAt, c.rootHash, c.keyId, c.signature);

describe("the ledger's own store tampered with: found by a full verification, source and position named", () => {
  const dirs: string[] = [];
  let base: string;
  let first: SignedCheckpoint;
  let second: SignedCheckpoint;
  /** Positions of acme's events, in log order (leaf i is the event at positions[i]). */
  let positions: number[];

  beforeAll(async () => {
    base = mkdtempSync(path.join(tmpdir(), 'tenantry-ledger-cp-base-'));
    dirs.push(base);
    const gw = await start(base);
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    for (let i = 0; i < 8; i++) {
      expectData(await gw.gql(`mutation { createNamespace(input: {id: "team.n${i}"}) { id } }`, {}, { tenant: 'acme' }));
    }
    await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
    first = expectData(await gw.gql<{ signAuditCheckpoint: SignedCheckpoint }>(CHECKPOINT, {}, { tenant: 'acme' })).signAuditCheckpoint;
    for (let i = 0; i < 5; i++) {
      expectData(
        await gw.gql(`mutation { updateNamespace(id: "team.n${i}", input: {description: "changed ${i}"}) { id } }`, {}, { tenant: 'acme' }),
      );
    }
    await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
    second = expectData(await gw.gql<{ signAuditCheckpoint: SignedCheckpoint }>(CHECKPOINT, {}, { tenant: 'acme' })).signAuditCheckpoint;
    expect(await verify(gw)).toMatchObject({ ok: true, checkedCheckpoints: 2 });
    // Events of another tenant after acme's: the log's head stays put when acme's last events are deleted below.
    expectData(await gw.gql(`mutation { createTenant(input: {id: "other", name: "Other", adminUserId: "admin"}) { id } }`));
    await gw.stop();
    positions = withFile(path.join(base, 'events.sqlite'), (db) =>
      db.prepare<[], { position: number }>(`SELECT position FROM events WHERE stream LIKE 'acme/%' ORDER BY position`).all(),
    ).map((r) => r.position);
    expect(positions.length).toBe(second.size);
  }, 120_000);

  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** A copy of the stopped installation, `tamper`ed (ledger.sqlite, events.sqlite). */
  function tampered(tamper: (ledger: Database.Database, log: Database.Database) => void): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-ledger-cp-'));
    dirs.push(dir);
    cpSync(base, dir, { recursive: true });
    withFile(path.join(dir, 'ledger.sqlite'), (ledger) => withFile(path.join(dir, 'events.sqlite'), (log) => tamper(ledger, log)));
    return dir;
  }

  /** A tampered copy, restarted, verified. */
  async function afterRestart(tamper: (ledger: Database.Database, log: Database.Database) => void): Promise<Verification> {
    const gw = await start(tampered(tamper));
    try {
      return await verify(gw);
    } finally {
      await gw.stop();
    }
  }

  /** Where the tree reaches the size of the first checkpoint. */
  const atFirst = () => String(positions[first.size - 1]);

  it("a stored checkpoint's root edited (to another signed root): its signature no longer matches", async () => {
    const result = await afterRestart((ledger) =>
      ledger.prepare(`UPDATE checkpoints SET root = ? WHERE tenant = 'acme' AND size = ?`).run(second.rootHash, first.size),
    );
    expect(result).toMatchObject({ ok: false, source: 'checkpoint', firstBrokenPosition: atFirst() });
    expect(result.reason).toMatch(new RegExp(`checkpoint of size ${first.size} .* cannot be trusted: its signature does not match`));
  });

  it("a stored checkpoint's size edited: its signature no longer matches, found where the tree reaches the new size", async () => {
    const result = await afterRestart((ledger) =>
      ledger.prepare(`UPDATE checkpoints SET size = ? WHERE tenant = 'acme' AND size = ?`).run(first.size + 1, first.size),
    );
    expect(result).toMatchObject({ ok: false, source: 'checkpoint', firstBrokenPosition: String(positions[first.size]) });
    expect(result.reason).toMatch(/cannot be trusted: its signature does not match/);
  });

  it('a checkpoint of the right root signed by an unknown key: not trusted', async () => {
    const forged = SigningKey.generate().sign({
      tenantId: 'acme',
      size: first.size,
      rootHash: first.rootHash,
      signedAt: new Date().toISOString(),
    });
    const result = await afterRestart((ledger) => insertCheckpoint(ledger, forged));
    expect(result).toMatchObject({ ok: false, source: 'checkpoint', firstBrokenPosition: atFirst() });
    expect(result.reason).toMatch(new RegExp(`signed with key ${forged.keyId}, which is not a trusted key`));
  });

  it('the log and the ledger rewritten together, the checkpoint rows kept: the log no longer reaches the first signed root', async () => {
    const result = await afterRestart((ledger, log) => {
      log.prepare(`UPDATE events SET data = json_set(data, '$.description', 'forged') WHERE position = ?`).run(positions[3]!);
      // The attacker empties acme's tree; the restart hashes the edited log into it again.
      for (const table of ['heads', 'leaves', 'nodes']) ledger.prepare(`DELETE FROM ${table} WHERE tenant = 'acme'`).run();
    });
    expect(result).toMatchObject({ ok: false, source: 'checkpoint', firstBrokenPosition: atFirst() });
    expect(result.reason).toMatch(new RegExp(`no longer reaches the root signed at size ${first.size}`));
  });

  it("a validly signed checkpoint beyond the ledger's size: the ledger lost events it had signed", async () => {
    const beyond = SigningKey.fromPem(TEST_AUDIT_SIGNING_KEY).sign({
      tenantId: 'acme',
      size: second.size + 3,
      rootHash: second.rootHash,
      signedAt: new Date().toISOString(),
    });
    const result = await afterRestart((ledger) => insertCheckpoint(ledger, beyond));
    expect(result).toMatchObject({ ok: false, source: 'checkpoint', firstBrokenPosition: String(positions.at(-1)) });
    expect(result.reason).toMatch(
      new RegExp(`checkpoint of size ${second.size + 3} .* was signed, but the log and the ledger now hold ${second.size}`),
    );
  });

  it('an interior node of the ledger edited (proofs are built from them): named where its leaves end, source ledger', async () => {
    // Node 1/1 is the hash of leaves 2 and 3: complete when the event at positions[3] is hashed.
    const result = await afterRestart((ledger) =>
      ledger.prepare(`UPDATE nodes SET hash = zeroblob(32) WHERE tenant = 'acme' AND level = 1 AND idx = 1`).run(),
    );
    expect(result).toMatchObject({ ok: false, source: 'ledger', firstBrokenPosition: String(positions[3]) });
    expect(result.reason).toMatch(/node 1\/1/);
  });

  it("the ledger's head (its frontier) edited: named, source ledger", async () => {
    const result = await afterRestart((ledger) =>
      ledger.prepare(`UPDATE heads SET frontier = zeroblob(length(frontier)) WHERE tenant = 'acme'`).run(),
    );
    expect(result).toMatchObject({ ok: false, source: 'ledger', firstBrokenPosition: String(positions.at(-1)) });
    expect(result.reason).toMatch(/head does not match its own leaves/);
  });

  /** `tenantry audit prove` on `dir` from a kept checkpoint file of `kept`. */
  async function prove(dir: string, kept: SignedCheckpoint) {
    const file = path.join(dir, 'kept-checkpoint.json');
    const publicKeyPem = createPublicKey(TEST_AUDIT_SIGNING_KEY).export({ type: 'spki', format: 'pem' }).toString();
    writeFileSync(file, JSON.stringify(checkpointFile(kept, publicKeyPem)));
    const env = { TENANTRY_DATA_DIR: dir, TENANTRY_READ_MODELS: 'memory', TENANTRY_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY };
    return runCli(['audit', 'prove', '--tenant', 'acme', '--checkpoint', file], env, 60_000);
  }

  it('`tenantry audit prove` checks the signature of the newer checkpoint it proves to: a forged one is INCONSISTENT (exit 1)', async () => {
    // The newer checkpoint keeps its root (the proof itself holds) but carries another checkpoint's signature.
    const dir = tampered((ledger) =>
      ledger.prepare(`UPDATE checkpoints SET signature = ? WHERE tenant = 'acme' AND size = ?`).run(first.signature, second.size),
    );
    const run = await prove(dir, first);
    expect(run.code, run.stderr + run.stdout).toBe(1);
    expect(run.stdout).toMatch(
      new RegExp(`^ledger of acme: INCONSISTENT — the checkpoint of size ${second.size} .*cannot be trusted: its signature does not match`),
    );
  }, 120_000);

  it("`tenantry audit prove` on a ledger shorter than the kept checkpoint (its last events deleted with the log's): INCONSISTENT (exit 1), not bad input", async () => {
    const keep = second.size - 3;
    const dir = tampered((ledger, log) => {
      log.prepare(`DELETE FROM events WHERE position >= ? AND stream LIKE 'acme/%'`).run(positions[keep]!);
      const leaves = ledger
        .prepare<[number], { position: number; hash: Buffer }>(
          `SELECT position, hash FROM leaves WHERE tenant = 'acme' AND idx < ? ORDER BY idx`,
        )
        .all(keep);
      const frontier = new Frontier(0, []);
      for (const leaf of leaves) frontier.append(leaf.hash);
      ledger.prepare(`DELETE FROM leaves WHERE tenant = 'acme' AND idx >= ?`).run(keep);
      ledger.prepare(`DELETE FROM nodes WHERE tenant = 'acme' AND ((idx + 1) << level) > ?`).run(keep);
      ledger.prepare(`DELETE FROM checkpoints WHERE tenant = 'acme' AND size > ?`).run(keep);
      ledger
        .prepare(`UPDATE heads SET size = ?, position = ?, frontier = ? WHERE tenant = 'acme'`)
        .run(keep, leaves.at(-1)!.position, Buffer.concat(frontier.hashes()));
    });
    const run = await prove(dir, second);
    expect(run.code, run.stderr + run.stdout).toBe(1);
    expect(run.stdout).toMatch(
      new RegExp(`^ledger of acme: INCONSISTENT — today's ledger holds ${keep} events, fewer than the checkpoint of size ${second.size}`),
    );
  }, 120_000);
});
