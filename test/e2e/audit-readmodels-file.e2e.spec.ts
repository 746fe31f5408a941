/**
 * The audit trail tampered with in the durable read models themselves
 * (`readmodels.sqlite`, the embedded default), with the gateway stopped,
 * then started again: the edited entry is served as stored (nothing rebuilds
 * it from the log), and a full verification names it.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectData, startTestGateway } from '../support/gateway.js';
import { verifyAcme, withFile } from '../support/ledger-files.js';

const start = (dataDir: string) => startTestGateway({ dataDir, readModels: 'sqlite', env: { TENANTRY_AUDIT_CHECKPOINT_INTERVAL_MS: '0' } });

interface Row {
  k: string;
  doc: string;
}

/** The documents table of the audit log's current generation, found through the store's catalogue. */
function auditTable(db: import('better-sqlite3').Database): string {
  const rows = db.prepare<[], { name: string; id: number }>(`SELECT name, id FROM tenantry_collections WHERE name LIKE 'auditLogs%'`).all();
  const row = rows.sort((a, b) => b.id - a.id)[0];
  if (!row) throw new Error('no audit log collection in readmodels.sqlite');
  return `c${row.id}`;
}

describe('audit entries edited in readmodels.sqlite while the gateway is stopped', () => {
  const dirs: string[] = [];
  let base: string;

  beforeAll(async () => {
    base = mkdtempSync(path.join(tmpdir(), 'tenantry-audit-file-'));
    dirs.push(base);
    const gw = await start(base);
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    for (let i = 0; i < 5; i++)
      expectData(await gw.gql(`mutation { createNamespace(input: {id: "n${i}"}) { id } }`, {}, { tenant: 'acme' }));
    await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
    expect((await verifyAcme(gw)).ok).toBe(true);
    await gw.stop();
  }, 120_000);
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const copy = (): string => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-audit-file-copy-'));
    dirs.push(dir);
    cpSync(base, dir, { recursive: true });
    return dir;
  };

  it('an entry whose actor was rewritten in the file is named after a restart', async () => {
    const dir = copy();
    const edited = withFile(path.join(dir, 'readmodels.sqlite'), (db) => {
      const table = auditTable(db);
      const entries = db.prepare<[], Row>(`SELECT k, doc FROM ${table}`).all();
      const target = entries
        .map((r) => ({
          k: r.k,
          doc: JSON.parse(r.doc) as { _id: string; tenantId: string; eventType: string; position: number; actor: { id: string } },
        }))
        .filter((r) => r.doc.tenantId === 'acme' && r.doc.eventType === 'NamespaceCreated')
        .sort((a, b) => a.doc.position - b.doc.position)[2]!;
      target.doc.actor.id = 'mallory';
      db.prepare(`UPDATE ${table} SET doc = ? WHERE k = ?`).run(JSON.stringify(target.doc), target.k);
      return target.doc;
    });
    const gw = await start(dir);
    try {
      // Served as stored: the read models are kept, not rebuilt from the log.
      const listed = expectData(
        await gw.gql<{ auditLogs: { edges: { node: { id: string; actor: { id: string } } }[] } }>(
          `{ auditLogs(first: 50) { edges { node { id actor { id } } } } }`,
          {},
          { tenant: 'acme' },
        ),
      ).auditLogs.edges.map((e) => e.node);
      expect(listed.find((n) => n.id === edited._id)?.actor.id).toBe('mallory');

      expect(await verifyAcme(gw)).toMatchObject({ ok: false, firstBrokenPosition: String(edited.position), source: 'readModel' });
    } finally {
      await gw.dispose();
    }
  }, 120_000);
});
