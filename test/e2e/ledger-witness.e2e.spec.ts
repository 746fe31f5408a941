/**
 * Issue 15: a witness copy of the signed checkpoints outside the data dir
 * (TENANTRY_AUDIT_WITNESS_FILE). Someone who rewrites the whole data dir —
 * the log, the ledger, and its checkpoints re-signed with the signing key —
 * passes every check made inside it; a full verification with the witness
 * names the rewrite, and a witnessed checkpoint deleted from the store.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignedCheckpoint } from '../../src/ledger/checkpoint.js';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { CHECKPOINT, verifyAcme, withFile, type Verification } from '../support/ledger-files.js';
import { runCli } from '../support/process.js';
import { TEST_AUDIT_SIGNING_KEY } from '../support/signing.js';

/** Read models in memory unless `thread`: a restart hashes the log again; with `thread`, SQLite read models and every verification on a verification thread. */
const start = (dataDir: string, witness: string | null, thread = false) =>
  startTestGateway({
    dataDir,
    readModels: thread ? 'sqlite' : 'memory',
    env: {
      TENANTRY_AUDIT_CHECKPOINT_INTERVAL_MS: '0',
      ...(witness ? { TENANTRY_AUDIT_WITNESS_FILE: witness } : {}),
      ...(thread ? { TENANTRY_VERIFICATION_THREAD: 'always' } : {}),
    },
  });

const sign = async (gw: TestGateway): Promise<SignedCheckpoint> =>
  expectData(await gw.gql<{ signAuditCheckpoint: SignedCheckpoint }>(CHECKPOINT, {}, { tenant: 'acme' })).signAuditCheckpoint;

describe('the witness file: signed checkpoints kept outside the data dir', () => {
  const dirs: string[] = [];
  let base: string;
  let witness: string;
  let first: SignedCheckpoint;
  let second: SignedCheckpoint;
  let positions: number[];

  beforeAll(async () => {
    base = mkdtempSync(path.join(tmpdir(), 'tenantry-witness-base-'));
    const outside = mkdtempSync(path.join(tmpdir(), 'tenantry-witness-'));
    dirs.push(base, outside);
    witness = path.join(outside, 'checkpoints.jsonl');
    const gw = await start(base, witness);
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    for (let i = 0; i < 6; i++) {
      expectData(await gw.gql(`mutation { createNamespace(input: {id: "team.n${i}"}) { id } }`, {}, { tenant: 'acme' }));
    }
    await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
    first = await sign(gw);
    for (let i = 0; i < 3; i++) {
      expectData(
        await gw.gql(`mutation { updateNamespace(id: "team.n${i}", input: {description: "v${i}"}) { id } }`, {}, { tenant: 'acme' }),
      );
    }
    await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
    second = await sign(gw);
    expect(await verifyAcme(gw)).toMatchObject({ ok: true, checkedCheckpoints: 2 });
    await gw.stop();
    positions = withFile(path.join(base, 'events.sqlite'), (db) =>
      db.prepare<[], { position: number }>(`SELECT position FROM events WHERE stream LIKE 'acme/%' ORDER BY position`).all(),
    ).map((r) => r.position);
  }, 120_000);

  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('holds one line per signed checkpoint, as signed', () => {
    const lines = readFileSync(witness, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as SignedCheckpoint);
    expect(lines).toEqual([first, second]);
  });

  /** A copy of the stopped data dir, tampered with (ledger.sqlite, events.sqlite). */
  function tampered(tamper: (ledger: Database.Database, log: Database.Database) => void): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-witness-copy-'));
    dirs.push(dir);
    cpSync(base, dir, { recursive: true });
    withFile(path.join(dir, 'ledger.sqlite'), (ledger) => withFile(path.join(dir, 'events.sqlite'), (log) => tamper(ledger, log)));
    return dir;
  }

  async function verifyWith(dir: string, witnessFile: string | null, thread = false): Promise<Verification> {
    const gw = await start(dir, witnessFile, thread);
    try {
      const result = await verifyAcme(gw);
      if (thread) expect(gw.app.verificationThreads?.started).toBe(1);
      return result;
    } finally {
      await gw.stop();
    }
  }

  it('the log, the ledger and the checkpoints rewritten and re-signed in the data dir: passes without the witness, named with it', async () => {
    const dir = tampered((ledger, log) => {
      log.prepare(`UPDATE events SET data = json_set(data, '$.description', 'forged') WHERE position = ?`).run(positions[2]!);
      // The whole tree and every checkpoint go; the restart below hashes the edited log again.
      for (const table of ['heads', 'leaves', 'nodes', 'checkpoints']) ledger.prepare(`DELETE FROM ${table} WHERE tenant = 'acme'`).run();
    });
    // The attacker has the signing key: a gateway without the witness re-signs the forged ledger.
    const attacker = await start(dir, null);
    const forged = await sign(attacker);
    expect(forged.size).toBe(second.size);
    expect(forged.rootHash).not.toBe(second.rootHash);
    expect(await verifyAcme(attacker)).toMatchObject({ ok: true, checkedCheckpoints: 1 });
    await attacker.stop();

    const found = await verifyWith(dir, witness);
    expect(found).toMatchObject({ ok: false, source: 'checkpoint', firstBrokenPosition: String(positions[first.size - 1]) });
    expect(found.reason).toMatch(
      new RegExp(`witnessed checkpoint of size ${first.size} \\(${first.signedAt}, line 1 of .*\\) is not extended by today's ledger`),
    );

    // The same with the command line, which names it and exits 1.
    const env = {
      TENANTRY_DATA_DIR: dir,
      TENANTRY_READ_MODELS: 'memory',
      TENANTRY_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
      TENANTRY_AUDIT_WITNESS_FILE: witness,
    };
    const run = await runCli(['audit', 'verify', '--tenant', 'acme'], env, 60_000);
    expect(run.code, run.stderr + run.stdout).toBe(1);
    expect(run.stdout).toMatch(/BROKEN .*found in the signed checkpoints\): the witnessed checkpoint of size \d+ .* is not extended/);
  }, 120_000);

  it('a witnessed checkpoint deleted from the store (the log intact): passes without the witness, named with it', async () => {
    const dir = tampered((ledger) => ledger.prepare(`DELETE FROM checkpoints WHERE tenant = 'acme' AND size = ?`).run(first.size));
    expect(await verifyWith(dir, null)).toMatchObject({ ok: true, checkedCheckpoints: 1 });
    const found = await verifyWith(dir, witness);
    expect(found).toMatchObject({ ok: false, source: 'checkpoint', firstBrokenPosition: String(positions[first.size - 1]) });
    expect(found.reason).toMatch(
      new RegExp(`witnessed checkpoint of size ${first.size} .* is missing from the ledger's store \\(deleted\\)`),
    );
    // The same on a verification thread (it reads the witness file there).
    expect(await verifyWith(dir, witness, true)).toMatchObject({ ok: false, source: 'checkpoint', reason: found.reason });
  }, 120_000);

  it('an append that failed (the witness not writable) fails the signing, and the stored checkpoint is witnessed at the next one', async () => {
    const outside = mkdtempSync(path.join(tmpdir(), 'tenantry-witness-late-'));
    dirs.push(outside);
    const late = path.join(outside, 'not-yet', 'checkpoints.jsonl');
    const dir = tampered(() => undefined);
    const gw = await start(dir, late);
    try {
      expectData(await gw.gql(`mutation { createNamespace(input: {id: "team.late"}) { id } }`, {}, { tenant: 'acme' }));
      await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
      const failed = await gw.gql(CHECKPOINT, {}, { tenant: 'acme' });
      expect(failed.errors?.length).toBeGreaterThan(0);
      mkdirSync(path.dirname(late));
      const again = await sign(gw);
      expect(again.size).toBe(second.size + 1);
      expect(
        readFileSync(late, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as SignedCheckpoint),
      ).toEqual([again]);
      expect(await verifyAcme(gw)).toMatchObject({ ok: true });
    } finally {
      await gw.stop();
    }
  }, 120_000);
});
