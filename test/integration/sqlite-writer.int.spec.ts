/**
 * The SQLite log's writes on a thread of their own
 * (src/eventstore/sqlite-writer.ts): the event loop's connection only reads,
 * a dead writer thread costs the appends it had (answered as unavailable,
 * retried idempotently) and nothing else. Real SQLite files, a real thread.
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStoreUnavailableError, type NewEvent } from '../../src/eventstore/port.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import type { SqliteWriterThread } from '../../src/eventstore/sqlite-writer.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function open(): SqliteEventStore {
  const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-writer-'));
  dirs.push(dir);
  return new SqliteEventStore(path.join(dir, 'events.sqlite'));
}
const internals = (store: SqliteEventStore) => store as unknown as { db: Database.Database; writer: SqliteWriterThread };
const event = (i: number): NewEvent => ({
  id: randomUUID(),
  type: 'Thing',
  schemaVersion: 1,
  data: { i },
  metadata: {
    tenantId: 't',
    actor: { type: 'SYSTEM', id: 'writer-test' },
    correlationId: 'c',
    commandId: randomUUID(),
    occurredAt: '2026-01-01T00:00:00Z',
  },
});
const changesOnEventLoop = (store: SqliteEventStore) => internals(store).db.prepare('SELECT total_changes() AS n').get() as { n: number };

describe('the SQLite log writes on its own thread', () => {
  it('appends commit on the writer thread: the event loop’s connection changes no row', async () => {
    const store = open();
    try {
      const before = changesOnEventLoop(store).n;
      const appends = Array.from({ length: 50 }, (_, i) => store.appendToStream(`t/s/${i % 5}`, [event(i)], { expectedRevision: 'any' }));
      await Promise.all(appends);
      expect(changesOnEventLoop(store).n).toBe(before);
      // Group commit: 50 appends made in one turn of the event loop, far fewer commits.
      expect(internals(store).writer.commits).toBeGreaterThan(0);
      expect(internals(store).writer.commits).toBeLessThan(50);
      const all = await store.readAll({ maxCount: 100, fromStorage: true });
      expect(all.map((e) => e.position)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    } finally {
      await store.close();
    }
  });

  it('a wrong expected revision fails that append alone; the rest of its group commits', async () => {
    const store = open();
    try {
      await store.appendToStream('t/a', [event(0)], { expectedRevision: 'no_stream' });
      const results = await Promise.allSettled([
        store.appendToStream('t/a', [event(1)], { expectedRevision: 0 }),
        store.appendToStream('t/a', [event(2)], { expectedRevision: 0 }),
        store.appendToStream('t/b', [event(3)], { expectedRevision: 'no_stream' }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ name: 'WrongExpectedRevisionError', actual: 1 });
      expect((await store.readStream('t/a')).map((e) => (e.data as { i: number }).i)).toEqual([0, 1]);
    } finally {
      await store.close();
    }
  });

  it('a writer thread that dies: its appends are answered as unavailable, a retry is idempotent, the next append gets a new thread', async () => {
    const store = open();
    try {
      await store.appendToStream('t/a', [event(0)], { expectedRevision: 'no_stream' });
      const lost = event(1);
      const pending = store.appendToStream('t/a', [lost], { expectedRevision: 0 });
      await internals(store).writer.crashForTest();
      const outcome = await pending.then(
        () => 'stored',
        (error: unknown) => error,
      );
      if (outcome !== 'stored') expect(outcome).toBeInstanceOf(EventStoreUnavailableError);
      // The client retries the same events: stored once, whatever the first attempt did.
      const retry = await store.appendToStream('t/a', [lost], { expectedRevision: 0 });
      expect(retry.nextExpectedRevision).toBe(1);
      expect((await store.readStream('t/a')).map((e) => e.id)).toEqual([expect.any(String), lost.id]);
    } finally {
      await store.close();
    }
  });
});
