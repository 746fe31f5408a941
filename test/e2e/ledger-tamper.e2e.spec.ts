/**
 * Issue 15: the audit log protects the log itself. Events edited, deleted,
 * inserted or reordered directly in `events.sqlite` are found and named by
 * verifyAuditLog, with the gateway running and after a restart (when the
 * in-memory read models are rebuilt from the edited log and would otherwise
 * agree with it); consistency proofs hold for an extended log and fail for a
 * forked or rewritten one; an export checks offline against a checkpoint.
 */
import { createPublicKey } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointFile } from '../../src/application/ledger-offline.js';
import { TrustedKeys, type SignedCheckpoint } from '../../src/ledger/checkpoint.js';
import { eventLeaf } from '../../src/ledger/leaf.js';
import { verifyConsistency, verifyInclusion } from '../../src/shared/merkle.js';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { CHECKPOINT, VERIFY, verifyAcme, type Verification } from '../support/ledger-files.js';
import { runCli } from '../support/process.js';
import { TEST_AUDIT_SIGNING_KEY } from '../support/signing.js';

/** Every gateway here keeps its read models in memory: after a restart they are rebuilt from the (edited) log. */
const start = (dataDir: string) => startTestGateway({ dataDir, readModels: 'memory', env: { TENANTRY_AUDIT_CHECKPOINT_INTERVAL_MS: '0' } });

const verify = (gw: TestGateway): Promise<Verification> => verifyAcme(gw);

interface Row {
  position: number;
  event_id: string;
  stream: string;
  revision: number;
  type: string;
  schema_version: number;
  data: string;
  metadata: string;
}

function withLog<T>(dataDir: string, work: (db: Database.Database) => T): T {
  const db = new Database(path.join(dataDir, 'events.sqlite'));
  try {
    return work(db);
  } finally {
    db.close();
  }
}

const acmeRows = (db: Database.Database): Row[] =>
  db.prepare<[], Row>(`SELECT * FROM events WHERE stream LIKE 'acme/%' ORDER BY position`).all();

describe('the ledger over the log: tampering found and named, proofs, offline verification', () => {
  const dirs: string[] = [];
  let base: string;
  let first: SignedCheckpoint;
  let second: SignedCheckpoint;
  let rows: Row[];

  const copy = (): string => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-ledger-copy-'));
    dirs.push(dir);
    cpSync(base, dir, { recursive: true });
    return dir;
  };

  beforeAll(async () => {
    base = mkdtempSync(path.join(tmpdir(), 'tenantry-ledger-base-'));
    dirs.push(base);
    const gw = await start(base);
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    for (let i = 0; i < 8; i++) {
      expectData(
        await gw.gql(`mutation { createNamespace(input: {id: "team.n${i}", description: "team ${i}"}) { id } }`, {}, { tenant: 'acme' }),
      );
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
    expect((await verify(gw)).ok).toBe(true);
    await gw.stop();
    rows = withLog(base, acmeRows);
    expect(rows.length).toBe(second.size);
  }, 120_000);

  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** Tampers a copy of the stopped installation, starts a gateway on it (a restart), verifies. */
  async function afterRestart(tamper: (db: Database.Database) => void): Promise<Verification> {
    const dir = copy();
    withLog(dir, tamper);
    const gw = await start(dir);
    try {
      return await verify(gw);
    } finally {
      await gw.stop();
    }
  }

  const target = () => rows[3]!; // an event the first checkpoint covers

  // The four kinds of tampering, each at a given event of the log.
  const editAt = (db: Database.Database, position: number) =>
    db.prepare(`UPDATE events SET data = json_set(data, '$.description', 'forged') WHERE position = ?`).run(position);
  const deleteAt = (db: Database.Database, position: number) => db.prepare(`DELETE FROM events WHERE position = ?`).run(position);
  /** A forged event at `position`; the event there and every later one move one position on. */
  const insertAt = (db: Database.Database, position: number) => {
    const original = db.prepare<[number], Row>('SELECT * FROM events WHERE position = ?').get(position)!;
    db.transaction(() => {
      db.prepare('UPDATE events SET position = -position WHERE position >= ?').run(position);
      db.prepare('UPDATE events SET position = -position + 1 WHERE position < 0').run();
      db.prepare(
        'INSERT INTO events (position, event_id, stream, revision, type, schema_version, data, metadata) VALUES (?, ?, ?, 0, ?, ?, ?, ?)',
      ).run(
        position,
        'f0f0f0f0-0000-4000-8000-000000000000',
        'acme/namespace/forged',
        original.type,
        original.schema_version,
        original.data,
        original.metadata,
      );
    })();
  };
  /** The events at positions a and b trade places. */
  const swapAt = (db: Database.Database, a: number, b: number) =>
    db.transaction(() => {
      const swap = db.prepare('UPDATE events SET position = ? WHERE position = ?');
      swap.run(-1, a);
      swap.run(a, b);
      swap.run(b, -1);
    })();

  it('an untouched copy verifies, every signed checkpoint included', async () => {
    const result = await afterRestart(() => undefined);
    expect(result).toMatchObject({ ok: true, checkedCheckpoints: 2 });
  });

  it('an edited event is named, after a restart', async () => {
    const result = await afterRestart((db) => editAt(db, target().position));
    expect(result).toMatchObject({ ok: false, firstBrokenPosition: String(target().position), source: 'eventLog' });
    expect(result.reason).toMatch(/differs|edited/);
  });

  it('a deleted event is named, after a restart', async () => {
    const result = await afterRestart((db) => deleteAt(db, target().position));
    expect(result).toMatchObject({ ok: false, firstBrokenPosition: String(target().position), source: 'eventLog' });
    expect(result.reason).toMatch(/missing/);
  });

  it('an event inserted in the middle (later positions shifted) is named, after a restart', async () => {
    const result = await afterRestart((db) => insertAt(db, target().position));
    expect(result).toMatchObject({ ok: false, firstBrokenPosition: String(target().position), source: 'eventLog' });
  });

  it('two events swapped (reordered) are named at the first of them, after a restart', async () => {
    const result = await afterRestart((db) => swapAt(db, rows[2]!.position, rows[5]!.position));
    expect(result).toMatchObject({ ok: false, firstBrokenPosition: String(rows[2]!.position), source: 'eventLog' });
  });

  /**
   * Starts a gateway on a copy and has it write events of its own (they sit
   * in its event store's cache of recent commits) under a signed checkpoint;
   * it verifies. Then `tamper` changes the file under the running gateway,
   * given the positions of those events, and it verifies again: the file is
   * read, not the process's cache.
   */
  async function whileRunning(tamper: (db: Database.Database, own: number[]) => void): Promise<{ result: Verification; own: number[] }> {
    const dir = copy();
    const gw = await start(dir);
    try {
      for (let i = 0; i < 6; i++) {
        expectData(
          await gw.gql(`mutation { updateNamespace(id: "team.n${i}", input: {description: "live ${i}"}) { id } }`, {}, { tenant: 'acme' }),
        );
      }
      await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
      expectData(await gw.gql(CHECKPOINT, {}, { tenant: 'acme' }));
      expect(await verify(gw)).toMatchObject({ ok: true, checkedCheckpoints: 3 });
      const own = withLog(dir, acmeRows)
        .slice(rows.length)
        .map((r) => r.position);
      expect(own).toHaveLength(6);
      withLog(dir, (db) => tamper(db, own));
      return { result: await verify(gw), own };
    } finally {
      await gw.stop();
    }
  }

  it('an edit made while the gateway runs is found at once, in an event it wrote itself', async () => {
    const { result, own } = await whileRunning((db, [, , p]) =>
      db.prepare(`UPDATE events SET metadata = json_set(metadata, '$.actor.id', 'mallory') WHERE position = ?`).run(p!),
    );
    expect(result).toMatchObject({ ok: false, firstBrokenPosition: String(own[2]), source: 'eventLog' });
    expect(result.reason).toMatch(/differs|edited/);
  });

  it('a deleted event is named while the gateway runs', async () => {
    const { result, own } = await whileRunning((db, [, , p]) => deleteAt(db, p!));
    expect(result).toMatchObject({ ok: false, firstBrokenPosition: String(own[2]), source: 'eventLog' });
    expect(result.reason).toMatch(/missing/);
  });

  it('an event inserted in the middle (later positions shifted) is named while the gateway runs', async () => {
    const { result, own } = await whileRunning((db, [, , p]) => insertAt(db, p!));
    expect(result).toMatchObject({ ok: false, firstBrokenPosition: String(own[2]), source: 'eventLog' });
  });

  it('two events swapped (reordered) are named at the first of them while the gateway runs', async () => {
    const { result, own } = await whileRunning((db, [, a, , , b]) => swapAt(db, a!, b!));
    expect(result).toMatchObject({ ok: false, firstBrokenPosition: String(own[1]), source: 'eventLog' });
  });

  it('an edit of an event written before the gateway started is found while it runs', async () => {
    const { result } = await whileRunning((db) => editAt(db, target().position));
    expect(result).toMatchObject({ ok: false, firstBrokenPosition: String(target().position), source: 'eventLog' });
  });

  it('the default (incremental) verifyAuditLog does not read events it verified before, so an edit among them is found by full: true only (docs/ledger.md)', async () => {
    const dir = copy();
    const gw = await start(dir);
    try {
      const incremental = async (): Promise<Verification> =>
        expectData(
          await gw.gql<{ verifyAuditLog: Verification }>(
            `{ verifyAuditLog { ok firstBrokenPosition reason source checkedCheckpoints } }`,
            {},
            { tenant: 'acme' },
          ),
        ).verifyAuditLog;
      expect((await incremental()).ok).toBe(true); // the first run verifies everything, and remembers where it stopped
      withLog(dir, (db) => editAt(db, target().position));
      expect((await incremental()).ok).toBe(true);
      expect(await verify(gw)).toMatchObject({ ok: false, firstBrokenPosition: String(target().position), source: 'eventLog' });
    } finally {
      await gw.stop();
    }
  });

  it('with the read models of this test run (MongoDB under TENANTRY_TEST_READ_MODELS=mongodb: the ledger in MongoDB), an edit is found', async () => {
    const gw = await startTestGateway({ env: { TENANTRY_AUDIT_CHECKPOINT_INTERVAL_MS: '0' } });
    try {
      for (let i = 0; i < 6; i++)
        expectData(await gw.gql(`mutation { createNamespace(input: {id: "m.n${i}"}) { id } }`, {}, { tenant: 'main' }));
      await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
      expectData(await gw.gql(CHECKPOINT, {}, { tenant: 'main' }));
      const mainVerify = async () =>
        expectData(await gw.gql<{ verifyAuditLog: Verification }>(VERIFY, {}, { tenant: 'main' })).verifyAuditLog;
      expect(await mainVerify()).toMatchObject({ ok: true, checkedCheckpoints: 1 });
      const position = withLog(gw.dataDir, (db) => {
        const row = db
          .prepare<[], { position: number }>(
            `SELECT position FROM events WHERE stream LIKE 'main/namespace/m.n2' ORDER BY position LIMIT 1`,
          )
          .get();
        db.prepare(`UPDATE events SET data = json_set(data, '$.description', 'forged') WHERE position = ?`).run(row!.position);
        return row!.position;
      });
      expect(await mainVerify()).toMatchObject({ ok: false, firstBrokenPosition: String(position), source: 'eventLog' });
    } finally {
      await gw.dispose();
    }
  });

  it("an edit of the ledger's own store (a leaf) is told apart from an edit of the log", async () => {
    const dir = copy();
    const ledger = new Database(path.join(dir, 'ledger.sqlite'));
    ledger.prepare(`UPDATE leaves SET hash = zeroblob(32) WHERE tenant = 'acme' AND idx = 3`).run();
    ledger.close();
    const gw = await start(dir);
    try {
      expect(await verify(gw)).toMatchObject({ ok: false, firstBrokenPosition: String(target().position), source: 'ledger' });
    } finally {
      await gw.stop();
    }
  });

  it('a log rewritten together with its ledger is caught by a checkpoint kept outside: the consistency proof fails', async () => {
    const dir = copy();
    withLog(dir, (db) => editAt(db, target().position));
    rmSync(path.join(dir, 'ledger.sqlite')); // the attacker rebuilds the ledger from the edited log, and loses the checkpoints
    const gw = await start(dir);
    try {
      await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
      const proof = await consistency(gw, first.size);
      expect(proof.fromRoot).not.toBe(first.rootHash);
      expect(check(first, proof)).toBe(false);
    } finally {
      await gw.stop();
    }
  });

  interface Proof {
    fromRoot: string;
    toRoot: string;
    toSize: number;
    proof: string[];
  }
  async function consistency(gw: TestGateway, fromSize: number): Promise<Proof> {
    return expectData(
      await gw.gql<{ auditConsistencyProof: Proof }>(
        `query($n: Int!) { auditConsistencyProof(fromSize: $n) { fromRoot toRoot toSize proof } }`,
        { n: fromSize },
        { tenant: 'acme' },
      ),
    ).auditConsistencyProof;
  }
  const check = (kept: SignedCheckpoint, proof: Proof): boolean =>
    verifyConsistency(
      kept.size,
      proof.toSize,
      Buffer.from(kept.rootHash, 'hex'),
      Buffer.from(proof.toRoot, 'hex'),
      proof.proof.map((h) => Buffer.from(h, 'hex')),
    );

  it('a consistency proof from an old checkpoint to the newest verifies; a forked log’s does not', async () => {
    const gw = await start(copy());
    try {
      const proof = await consistency(gw, first.size);
      expect(proof.toSize).toBe(second.size);
      expect(proof.toRoot).toBe(second.rootHash);
      expect(check(first, proof)).toBe(true);
    } finally {
      await gw.stop();
    }
    // Another installation whose tenant acme has another history: its proof cannot extend our checkpoint.
    const forkDir = mkdtempSync(path.join(tmpdir(), 'tenantry-ledger-fork-'));
    dirs.push(forkDir);
    const fork = await start(forkDir);
    try {
      expectData(await fork.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
      for (let i = 0; i < 15; i++) {
        expectData(await fork.gql(`mutation { createNamespace(input: {id: "other.n${i}"}) { id } }`, {}, { tenant: 'acme' }));
      }
      await fork.app.projections.waitFor(await fork.eventCount(), 30_000);
      expect(check(first, await consistency(fork, first.size))).toBe(false);
    } finally {
      await fork.stop();
    }
  });

  it('an inclusion proof shows an event is in a signed checkpoint: its leaf is the stored event hashed, its path reaches the signed root', async () => {
    const gw = await start(copy());
    try {
      const { position } = target();
      const proof = expectData(
        await gw.gql<{
          auditInclusionProof: { leafIndex: number; treeSize: number; leafHash: string; proof: string[]; checkpoint: SignedCheckpoint };
        }>(
          `query($p: Position!) { auditInclusionProof(position: $p) { leafIndex treeSize leafHash proof checkpoint { tenantId size rootHash signedAt keyId signature } } }`,
          { p: String(position) },
          { tenant: 'acme' },
        ),
      ).auditInclusionProof;
      expect(proof).toMatchObject({ leafIndex: 3, treeSize: first.size, checkpoint: { size: first.size, rootHash: first.rootHash } });
      // The leaf is the event as the log stores it, hashed as docs/ledger.md says.
      const [stored] = await gw.app.events.readAll({ after: position - 1, maxCount: 1, fromStorage: true });
      expect(stored!.position).toBe(position);
      const leaf = eventLeaf(stored!);
      expect(proof.leafHash).toBe(leaf.toString('hex'));
      // The checkpoint is signed by the trusted key, and the path takes the leaf to its root (RFC 9162, 2.1.3.2).
      expect(new TrustedKeys([createPublicKey(TEST_AUDIT_SIGNING_KEY)]).problem(proof.checkpoint)).toBeNull();
      const auditPath = proof.proof.map((h) => Buffer.from(h, 'hex'));
      const root = Buffer.from(proof.checkpoint.rootHash, 'hex');
      expect(verifyInclusion(proof.leafIndex, proof.treeSize, leaf, auditPath, root)).toBe(true);
      // Not vacuous: another event's leaf, or another index, does not reach the root.
      expect(verifyInclusion(proof.leafIndex, proof.treeSize, eventLeaf({ ...stored!, data: { forged: true } }), auditPath, root)).toBe(
        false,
      );
      expect(verifyInclusion(proof.leafIndex + 1, proof.treeSize, leaf, auditPath, root)).toBe(false);
    } finally {
      await gw.stop();
    }
  });

  it('the CLI checks an events export against a checkpoint file offline, and refuses an edited export', async () => {
    const dir = copy();
    const env = { TENANTRY_DATA_DIR: dir, TENANTRY_READ_MODELS: 'memory', TENANTRY_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY };
    const exported = path.join(dir, '..', `${path.basename(dir)}-acme.ndjson`);
    const checkpointPath = path.join(dir, '..', `${path.basename(dir)}-checkpoint.json`);
    dirs.push(exported, checkpointPath);
    const exportRun = await runCli(['events', 'export', '--tenant', 'acme'], env, 60_000);
    expect(exportRun, exportRun.stderr).toMatchObject({ code: 0 });
    writeFileSync(exported, exportRun.stdout);
    const checkpointRun = await runCli(['audit', 'checkpoint', '--tenant', 'acme', '--output', checkpointPath], env, 60_000);
    expect(checkpointRun, checkpointRun.stderr).toMatchObject({ code: 0 });

    const ok = await runCli(['audit', 'verify', '--export', exported, '--checkpoint', checkpointPath], {}, 60_000);
    expect(ok, ok.stderr + ok.stdout).toMatchObject({ code: 0 });
    expect(ok.stdout).toMatch(/^export of acme: OK — its first \d+ events/);
    expect(ok.stderr).toContain(`export of acme: ${second.size}/${second.size} events hashed\n`); // progress against the checkpoint's size

    const lines = readFileSync(exported, 'utf8').split('\n');
    lines[4] = lines[4]!.replace('"team', '"forged');
    writeFileSync(exported, lines.join('\n'));
    const bad = await runCli(['audit', 'verify', '--export', exported, '--checkpoint', checkpointPath], {}, 60_000);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/DOES NOT MATCH/);
  }, 120_000);

  it('`tenantry audit prove` prints a consistency proof from a kept checkpoint that verifies with src/shared/merkle.ts; a rewritten ledger is INCONSISTENT (exit 1)', async () => {
    const dir = copy();
    const env = { TENANTRY_DATA_DIR: dir, TENANTRY_READ_MODELS: 'memory', TENANTRY_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY };
    // The auditor kept the first checkpoint, as `tenantry audit checkpoint --output` writes it.
    const kept = path.join(dir, '..', `${path.basename(dir)}-kept.json`);
    dirs.push(kept);
    const publicKeyPem = createPublicKey(TEST_AUDIT_SIGNING_KEY).export({ type: 'spki', format: 'pem' }).toString();
    writeFileSync(kept, JSON.stringify(checkpointFile(first, publicKeyPem)));

    const run = await runCli(['audit', 'prove', '--tenant', 'acme', '--checkpoint', kept, '--json'], env, 60_000);
    expect(run, run.stderr).toMatchObject({ code: 0 });
    const printed = JSON.parse(run.stdout) as {
      consistent: boolean;
      fromSize: number;
      fromRoot: string;
      toSize: number;
      toRoot: string;
      proof: string[];
      toCheckpoint: SignedCheckpoint | null;
    };
    expect(printed).toMatchObject({ consistent: true, fromSize: first.size, fromRoot: first.rootHash, toSize: second.size });
    expect(printed.toCheckpoint).toMatchObject({ size: second.size, rootHash: second.rootHash, signature: second.signature });
    expect(printed.toRoot).toBe(second.rootHash);
    // Checked here with nothing but the kept checkpoint, the newer signed root and the proof.
    expect(check(first, { fromRoot: printed.fromRoot, toRoot: second.rootHash, toSize: printed.toSize, proof: printed.proof })).toBe(true);
    // The proof is not vacuous: the same proof does not take the kept root to another one.
    expect(check(first, { fromRoot: printed.fromRoot, toRoot: first.rootHash, toSize: printed.toSize, proof: printed.proof })).toBe(false);

    const text = await runCli(['audit', 'prove', '--tenant', 'acme', '--checkpoint', kept], env, 60_000);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(
        `^ledger of acme: CONSISTENT — the checkpoint of size ${first.size} .* is a prefix of the checkpoint of size ${second.size}`,
      ),
    );

    // The log edited and the ledger rebuilt from it (by a gateway): the kept checkpoint no longer fits.
    const rewritten = copy();
    withLog(rewritten, (db) => editAt(db, target().position));
    rmSync(path.join(rewritten, 'ledger.sqlite'));
    const gw = await start(rewritten);
    await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
    await gw.stop();
    const bad = await runCli(
      ['audit', 'prove', '--tenant', 'acme', '--checkpoint', kept],
      { ...env, TENANTRY_DATA_DIR: rewritten },
      60_000,
    );
    expect(bad.code, bad.stderr).toBe(1);
    expect(bad.stdout).toMatch(/^ledger of acme: INCONSISTENT — today's ledger does not extend the checkpoint of size/);
  }, 120_000);
});
