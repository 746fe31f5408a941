/**
 * Issue 13: a full verification runs on a thread of its own (its own
 * read-only connections, its own heap), not on the event loop. On the
 * embedded default's stores (SQLite log, ledger and read models) the thread
 * finds what the event loop finds (same counts, same hash, the same first
 * broken position for an edited log), reports progress, and ends at once
 * when the request's deadline passes.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Application } from '../../src/application/application.js';
import { loadConfig } from '../../src/config/config.js';
import { MemoryEventStore } from '../../src/eventstore/memory.js';
import { MemoryDocumentStore } from '../../src/readmodels/memory.js';
import { silentLogger } from '../../src/shared/logger.js';
import { Slicer } from '../../src/shared/slices.js';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { testMongoUri } from '../support/mongo.js';

const summary = (r: { ok: boolean; checkedEntries: number; checkedEvents?: number; lastHash: string | null; source: string | null }) => ({
  ok: r.ok,
  checkedEntries: r.checkedEntries,
  checkedEvents: r.checkedEvents,
  lastHash: r.lastHash,
  source: r.source,
});

describe('verification on a thread of its own (SQLite log, ledger and read models)', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ readModels: 'sqlite', env: { TENANTRY_AUDIT_CHECKPOINT_INTERVAL_MS: '0' } });
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    for (let i = 0; i < 30; i++) {
      expectData(await gw.gql(`mutation { createNamespace(input: {id: "team.n${i}"}) { id } }`, {}, { tenant: 'acme' }));
      if (i % 10 === 9) await gw.services.auditLedger.checkpointNow('acme');
    }
    await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
  }, 120_000);

  afterAll(async () => {
    await gw?.dispose();
  });

  it('runs there, and finds what the event loop finds', async () => {
    const threads = gw.app.verificationThreads;
    expect(threads).not.toBeNull();
    const before = threads!.started;
    const ledgerProgress: number[] = [];
    const chainProgress: number[] = [];
    const onThread = await gw.services.audit.verifyNow('acme', {
      full: true,
      thread: 'thread',
      onLedgerProgress: (checked) => ledgerProgress.push(checked),
      onProgress: (checked) => chainProgress.push(checked),
    });
    expect(threads!.started).toBe(before + 1);
    expect(threads!.running).toBe(0);
    const onLoop = await gw.services.audit.verifyNow('acme', { full: true, thread: 'main' });
    expect(threads!.started).toBe(before + 1);
    expect(onThread.ok).toBe(true);
    expect(onThread.checkedCheckpoints).toBe(3);
    expect(summary(onThread)).toEqual(summary(onLoop));
    // By default, a verification this small (fewer than THREAD_MIN_EVENTS to check) stays on the event loop.
    expect((await gw.services.audit.verifyNow('acme', { full: true })).ok).toBe(true);
    expect(threads!.started).toBe(before + 1);
    // Progress came across from the thread: both passes reached their totals.
    expect(ledgerProgress.at(-1)).toBe(onThread.checkedEvents);
    expect(chainProgress.at(-1)).toBe(onThread.checkedEntries);
  });

  it('goes on from the point a thread saved: incremental runs after a full one check only what came since', async () => {
    expect((await gw.services.audit.verifyNow('acme', { full: true, thread: 'thread' })).ok).toBe(true);
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "team.later"}) { id } }`, {}, { tenant: 'acme' }));
    await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
    const next = await gw.services.audit.verifyNow('acme', { full: false, thread: 'thread' });
    expect([next.ok, next.incremental, next.newlyCheckedEntries, next.checkedEvents]).toEqual([true, true, 1, 1]);
    // Nothing new: the tree the thread handed back (its frontier) must still be the one the ledger extends.
    const again = await gw.services.audit.verifyNow('acme', { full: false, thread: 'thread' });
    expect([again.ok, again.newlyCheckedEntries, again.reason]).toEqual([true, 0, null]);
  });

  it('finds an event edited in events.sqlite, at the same position as the event loop', async () => {
    const db = new Database(path.join(gw.dataDir, 'events.sqlite'));
    const row = db
      .prepare<[], { position: number; data: string }>(
        `SELECT position, data FROM events WHERE stream LIKE 'acme/namespace/%' ORDER BY position LIMIT 1 OFFSET 4`,
      )
      .get()!;
    db.prepare(`UPDATE events SET data = json_set(data, '$.description', 'forged') WHERE position = ?`).run(row.position);
    db.close();
    try {
      const onThread = await gw.services.audit.verifyNow('acme', { full: true, thread: 'thread' });
      const onLoop = await gw.services.audit.verifyNow('acme', { full: true, thread: 'main' });
      expect(onThread.ok).toBe(false);
      expect(onThread.firstBrokenPosition).toBe(String(row.position));
      expect(onThread.source).toBe(onLoop.source);
      expect(onThread.reason).toBe(onLoop.reason);
      expect(onThread.firstBrokenPosition).toBe(onLoop.firstBrokenPosition);
    } finally {
      const undo = new Database(path.join(gw.dataDir, 'events.sqlite'));
      undo.prepare(`UPDATE events SET data = ? WHERE position = ?`).run(row.data, row.position);
      undo.close();
    }
    expect((await gw.services.audit.verifyNow('acme', { full: true, thread: 'thread' })).ok).toBe(true);
  });

  it('ends the thread when the deadline passes, and rejects with the deadline', async () => {
    const threads = gw.app.verificationThreads!;
    const deadline = new AbortController();
    const running = gw.services.audit.verifyNow('acme', { full: true, thread: 'thread', slicer: new Slicer(deadline.signal) });
    running.catch(() => undefined);
    // The thread is running (starting up or verifying) when the deadline passes.
    await vi.waitFor(() => expect(threads.running).toBe(1), { timeout: 30_000, interval: 1 });
    deadline.abort(new Error('deadline passed'));
    await expect(running).rejects.toThrow('deadline passed');
    expect(threads.running).toBe(0);
  });

  it('is not used where the stores live in this thread (memory) or when turned off', () => {
    const memory = new Application({
      config: loadConfig({ TENANTRY_DATA_DIR: gw.dataDir }),
      logger: silentLogger(),
      events: new MemoryEventStore(),
      documents: new MemoryDocumentStore(),
    });
    expect(memory.verificationThreads).toBeNull();
    const off = loadConfig({ TENANTRY_DATA_DIR: gw.dataDir, TENANTRY_VERIFICATION_THREAD: 'off' });
    expect(off.verificationThread).toBe('off');
  });
});

describe.skipIf(!testMongoUri())('verification on a thread of its own, with the read models and the ledger in MongoDB', () => {
  it('opens its own MongoDB connection there and finds what the event loop finds', async () => {
    const gw = await startTestGateway({ readModels: 'mongodb', env: { TENANTRY_AUDIT_CHECKPOINT_INTERVAL_MS: '0' } });
    try {
      expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
      for (let i = 0; i < 5; i++)
        expectData(await gw.gql(`mutation { createNamespace(input: {id: "n${i}"}) { id } }`, {}, { tenant: 'acme' }));
      await gw.services.auditLedger.checkpointNow('acme');
      await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
      const threads = gw.app.verificationThreads!;
      const onThread = await gw.services.audit.verifyNow('acme', { full: true, thread: 'thread' });
      expect(threads.started).toBe(1);
      const onLoop = await gw.services.audit.verifyNow('acme', { full: true, thread: 'main' });
      expect(onThread.ok).toBe(true);
      expect(onThread.checkedCheckpoints).toBe(1);
      expect(summary(onThread)).toEqual(summary(onLoop));
    } finally {
      await gw.dispose();
    }
  }, 120_000);
});
