/**
 * Issue 15, the auditor's side on the command line: `tenantry audit prove
 * --position N` (an inclusion proof of one event, checked here and written
 * to a file that `tenantry audit verify --proof` checks offline), and the
 * offline verifiers' `--key` pinning (a checkpoint or proof signed by
 * another key is refused when --key names the real one).
 */
import { createPublicKey } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointFile, type InclusionProofFile } from '../../src/application/ledger-offline.js';
import { SigningKey, type SignedCheckpoint } from '../../src/ledger/checkpoint.js';
import { eventLeaf } from '../../src/ledger/leaf.js';
import type { RecordedEvent } from '../../src/eventstore/port.js';
import { verifyInclusion } from '../../src/shared/merkle.js';
import { expectData, startTestGateway } from '../support/gateway.js';
import { CHECKPOINT, withFile } from '../support/ledger-files.js';
import { runCli } from '../support/process.js';
import { TEST_AUDIT_SIGNING_KEY } from '../support/signing.js';

const realPem = createPublicKey(TEST_AUDIT_SIGNING_KEY).export({ type: 'spki', format: 'pem' }).toString();

describe('inclusion proofs and key pinning on the command line', () => {
  let base: string;
  let files: string;
  let env: Record<string, string>;
  let signed: SignedCheckpoint;
  let positions: number[];
  const realKey = () => path.join(files, 'real.pem');

  beforeAll(async () => {
    base = mkdtempSync(path.join(tmpdir(), 'tenantry-inclusion-'));
    files = mkdtempSync(path.join(tmpdir(), 'tenantry-inclusion-files-'));
    const gw = await startTestGateway({ dataDir: base, readModels: 'memory', env: { TENANTRY_AUDIT_CHECKPOINT_INTERVAL_MS: '0' } });
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    for (let i = 0; i < 5; i++) {
      expectData(await gw.gql(`mutation { createNamespace(input: {id: "team.n${i}"}) { id } }`, {}, { tenant: 'acme' }));
    }
    await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
    signed = expectData(await gw.gql<{ signAuditCheckpoint: SignedCheckpoint }>(CHECKPOINT, {}, { tenant: 'acme' })).signAuditCheckpoint;
    await gw.stop();
    positions = withFile(path.join(base, 'events.sqlite'), (db) =>
      db.prepare<[], { position: number }>(`SELECT position FROM events WHERE stream LIKE 'acme/%' ORDER BY position`).all(),
    ).map((r) => r.position);
    env = { TENANTRY_DATA_DIR: base, TENANTRY_READ_MODELS: 'memory', TENANTRY_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY };
    writeFileSync(realKey(), realPem);
  }, 120_000);

  afterAll(() => {
    for (const dir of [base, files]) rmSync(dir, { recursive: true, force: true });
  });

  it('`audit prove --position N` proves an event is in a signed checkpoint; the proof file checks offline, with nothing but itself', async () => {
    const position = positions[3]!;
    const proofPath = path.join(files, 'proof.json');
    const run = await runCli(
      ['audit', 'prove', '--tenant', 'acme', '--position', String(position), '--output', proofPath, '--json'],
      env,
      60_000,
    );
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ included: true, position, leafIndex: 3, treeSize: signed.size });
    const file = JSON.parse(readFileSync(proofPath, 'utf8')) as InclusionProofFile;
    expect(file).toMatchObject({ format: 'tenantry-audit-inclusion-proof', leafIndex: 3, checkpoint: signed, publicKeyPem: realPem });
    // The event is the one the log holds, and RFC 9162's check takes its leaf to the signed root.
    const leaf = eventLeaf(file.event as unknown as RecordedEvent);
    const auditPath = file.proof.map((h) => Buffer.from(h, 'hex'));
    expect(verifyInclusion(3, signed.size, leaf, auditPath, Buffer.from(signed.rootHash, 'hex'))).toBe(true);
    expect(verifyInclusion(2, signed.size, leaf, auditPath, Buffer.from(signed.rootHash, 'hex'))).toBe(false);

    const text = await runCli(['audit', 'prove', '--tenant', 'acme', '--position', String(position)], env, 60_000);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(`^event at position ${position} of acme: INCLUDED — leaf 3 of the checkpoint of size ${signed.size}`),
    );

    // Offline: no data dir, no key but the one pinned (or the file's, with a warning).
    const offline = await runCli(['audit', 'verify', '--proof', proofPath], {}, 60_000);
    expect(offline.code, offline.stderr + offline.stdout).toBe(0);
    expect(offline.stdout).toMatch(/INCLUDED in the checkpoint of size/);
    expect(offline.stderr).toMatch(/trusting the key in the proof file/);
    const kept = path.join(files, 'kept.json');
    writeFileSync(kept, JSON.stringify(checkpointFile(signed, realPem)));
    const pinned = await runCli(['audit', 'verify', '--proof', proofPath, '--key', realKey(), '--checkpoint', kept], {}, 60_000);
    expect(pinned.code, pinned.stderr + pinned.stdout).toBe(0);
    expect(pinned.stderr).not.toMatch(/trusting the key/);

    // The event edited in the proof file: its leaf is not the proof's.
    const edited = path.join(files, 'edited-proof.json');
    writeFileSync(edited, JSON.stringify({ ...file, event: { ...file.event, data: { forged: true } } }));
    const bad = await runCli(['audit', 'verify', '--proof', edited, '--key', realKey()], {}, 60_000);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/NOT PROVEN — the event does not hash to the leaf of the proof/);

    // A proof for a checkpoint re-signed by another key (its key in the file): accepted unpinned, refused pinned.
    const other = SigningKey.generate();
    const forged = path.join(files, 'forged-proof.json');
    writeFileSync(forged, JSON.stringify({ ...file, checkpoint: other.sign(signed), publicKeyPem: other.publicPem() }));
    expect((await runCli(['audit', 'verify', '--proof', forged], {}, 60_000)).code).toBe(0);
    const refused = await runCli(['audit', 'verify', '--proof', forged, '--key', realKey()], {}, 60_000);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(new RegExp(`signed with key ${other.keyId}, which is not a trusted key`));
  }, 120_000);

  it('`audit prove --position N` on a log edited at that event (the ledger left alone): NOT PROVEN, exit 1', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-inclusion-edited-'));
    try {
      cpSync(base, dir, { recursive: true });
      withFile(path.join(dir, 'events.sqlite'), (db) =>
        db.prepare(`UPDATE events SET data = json_set(data, '$.description', 'forged') WHERE position = ?`).run(positions[2]!),
      );
      const run = await runCli(
        ['audit', 'prove', '--tenant', 'acme', '--position', String(positions[2])],
        { ...env, TENANTRY_DATA_DIR: dir },
        60_000,
      );
      expect(run.code, run.stderr + run.stdout).toBe(1);
      expect(run.stdout).toMatch(/NOT PROVEN — the event does not hash to the leaf of the proof/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('`audit verify --export --checkpoint --key`: a checkpoint file signed by another key is refused when --key pins the real one; the genuine one passes', async () => {
    const exported = path.join(files, 'acme.ndjson');
    const exportRun = await runCli(['events', 'export', '--tenant', 'acme'], env, 60_000);
    expect(exportRun.code, exportRun.stderr).toBe(0);
    writeFileSync(exported, exportRun.stdout);
    const genuine = path.join(files, 'genuine-checkpoint.json');
    writeFileSync(genuine, JSON.stringify(checkpointFile(signed, realPem)));
    const other = SigningKey.generate();
    const forged = path.join(files, 'forged-checkpoint.json');
    writeFileSync(forged, JSON.stringify(checkpointFile(other.sign(signed), other.publicPem())));

    const good = await runCli(['audit', 'verify', '--export', exported, '--checkpoint', genuine, '--key', realKey()], {}, 60_000);
    expect(good.code, good.stderr + good.stdout).toBe(0);
    expect(good.stdout).toMatch(/^export of acme: OK/);
    // Unpinned, the forged file's own key vouches for it (hence the warning, and --key).
    const unpinned = await runCli(['audit', 'verify', '--export', exported, '--checkpoint', forged], {}, 60_000);
    expect(unpinned.code).toBe(0);
    expect(unpinned.stderr).toMatch(new RegExp(`trusting the key in the checkpoint file \\(key id ${other.keyId}\\)`));
    const refused = await runCli(['audit', 'verify', '--export', exported, '--checkpoint', forged, '--key', realKey()], {}, 60_000);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(new RegExp(`DOES NOT MATCH .*signed with key ${other.keyId}, which is not a trusted key`));
  }, 120_000);

  it('`audit checkpoints` lists every checkpoint, past the API page of 1,000, oldest first and each once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-inclusion-many-'));
    try {
      cpSync(base, dir, { recursive: true });
      const key = SigningKey.fromPem(TEST_AUDIT_SIGNING_KEY);
      // 1,204 more rows (sizes past the ledger's: the list does not verify them), two of them sharing size 1000 across the first page's end.
      withFile(path.join(dir, 'ledger.sqlite'), (db) => {
        const insert = db.prepare('INSERT INTO checkpoints (tenant, size, signed_at, root, key_id, signature) VALUES (?, ?, ?, ?, ?, ?)');
        const sizes = [...Array.from({ length: 1202 }, (_, i) => 100 + i), 1000, 1001];
        sizes.forEach((size, i) => {
          const c = key.sign({
            tenantId: 'acme',
            size,
            rootHash: signed.rootHash,
            signedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
          });
          insert.run(c.tenantId, c.size, c.signedAt, c.rootHash, c.keyId, c.signature);
        });
      });
      const run = await runCli(['audit', 'checkpoints', '--tenant', 'acme', '--json'], { ...env, TENANTRY_DATA_DIR: dir }, 60_000);
      expect(run.code, run.stderr).toBe(0);
      const listed = run.stdout
        .split('\n')
        .filter((l) => l)
        .map((l) => JSON.parse(l) as SignedCheckpoint);
      expect(listed).toHaveLength(1205);
      expect(new Set(listed.map((c) => `${c.size} ${c.signedAt}`)).size).toBe(1205);
      expect(listed.map((c) => c.size)).toEqual(listed.map((c) => c.size).sort((a, b) => a - b));
      expect(listed[0]).toMatchObject({ size: signed.size, signature: signed.signature });
      expect(listed.filter((c) => c.size === 1000)).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
