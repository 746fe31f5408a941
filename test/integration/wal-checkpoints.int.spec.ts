/**
 * WAL checkpoints on a thread of their own (src/shared/wal-checkpointer.ts):
 * the gateway's commits only append to the WAL, the thread copies it into the
 * database file, and a failed thread hands the checkpoints back to the
 * stores. Real SQLite files, a real thread.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../src/eventstore/port.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { SqliteLedgerStore } from '../../src/ledger/sqlite-store.js';
import { SqliteDocumentStore } from '../../src/readmodels/sqlite.js';
import { TRUNCATE_FRAMES, walCheckpointer } from '../../src/shared/wal-checkpointer.js';

const dirs: string[] = [];
const tmp = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-wal-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const big = (i: number): NewEvent => ({
  id: randomUUID(),
  type: 'Big',
  schemaVersion: 1,
  data: { i, pad: 'x'.repeat(200 * 1024) },
  metadata: {
    tenantId: 't',
    actor: { type: 'SYSTEM', id: 'wal-test' },
    correlationId: 'c',
    commandId: randomUUID(),
    occurredAt: '2026-01-01T00:00:00Z',
  },
});

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('WAL checkpoints off the event loop', () => {
  it('the log commits without checkpointing; the thread copies the WAL into the database file', async () => {
    const file = path.join(tmp(), 'events.sqlite');
    const store = new SqliteEventStore(file, { backgroundCheckpoints: true });
    try {
      expect(store.settings().walAutocheckpoint).toBe(0);
      const before = walCheckpointer.stats().checkpointedFrames;
      // 8 MB: twice SQLite's automatic threshold of 1,000 pages.
      for (let i = 0; i < 40; i++) await store.appendToStream('t/s', [big(i)], { expectedRevision: i === 0 ? 'no_stream' : i - 1 });
      // The events reach the database file, not only the WAL: with SQLite's own checkpoints off, only the thread's
      // checkpoints copy them there. Waited for by size, not by a count of frames: a page written by several commits
      // is several frames (more of them when the thread runs between commits, on a busy machine), so 2,000 frames
      // did not always mean 7 MB in the file.
      // The count arrives by message after the copy: both are waited for.
      await until(
        () => statSync(file).size > 7 * 1024 * 1024 && walCheckpointer.stats().checkpointedFrames - before >= 1000,
        'the thread to copy the events into the database file',
      );
      expect(walCheckpointer.stats().files).toBeGreaterThanOrEqual(1);
    } finally {
      await store.close();
    }
    // The thread's connection closed first, so the store's close was the last and removed the WAL.
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it('without the option a store keeps SQLite’s own checkpoints (CLI, tests)', async () => {
    const store = new SqliteEventStore(path.join(tmp(), 'events.sqlite'));
    try {
      expect(store.settings().walAutocheckpoint).toBe(1000);
    } finally {
      await store.close();
    }
  });

  it('the ledger and the read models register too, and the thread ends when the last file is released', async () => {
    const dir = tmp();
    const files = walCheckpointer.stats().files;
    const ledger = new SqliteLedgerStore(path.join(dir, 'ledger.sqlite'), { backgroundCheckpoints: true });
    const documents = SqliteDocumentStore.open(path.join(dir, 'readmodels.sqlite'), { backgroundCheckpoints: true });
    await until(() => walCheckpointer.stats().files === files + 2, 'both files registered');
    await ledger.close();
    await documents.close();
    expect(walCheckpointer.stats().files).toBe(files);
    expect(existsSync(path.join(dir, 'ledger.sqlite-wal'))).toBe(false);
    expect(existsSync(path.join(dir, 'readmodels.sqlite-wal'))).toBe(false);
  });

  it('under writes that never pause the WAL stays bounded: past the limit it is copied to its end and emptied', async () => {
    // Each checkpoint copied the WAL up to the frames written meanwhile, never to its end, so SQLite never started
    // it over: it grew by every write (46 GB during a catch-up of part of 3M events) until the writes stopped.
    const file = path.join(tmp(), 'readmodels.sqlite');
    const store = SqliteDocumentStore.open(file, { backgroundCheckpoints: true });
    const docs = store.collection<{ _id: string; n: number; pad: string }>('docs');
    const before = walCheckpointer.stats().truncations;
    const limitBytes = TRUNCATE_FRAMES * 4096;
    let largest = 0;
    try {
      // About 2.5 times the limit in WAL frames, written one document after another.
      for (let i = 0; i < 60_000; i++) {
        await docs.replaceOne({ _id: `d${i % 1000}` }, { _id: `d${i % 1000}`, n: i, pad: 'x'.repeat(500) }, { upsert: true });
        if (i % 1000 === 0 && existsSync(`${file}-wal`)) largest = Math.max(largest, statSync(`${file}-wal`).size);
      }
    } finally {
      await store.close();
    }
    expect(walCheckpointer.stats().truncations).toBeGreaterThan(before);
    expect(largest).toBeLessThan(2 * limitBytes);
  }, 120_000);

  it('when the thread fails, the store turns its own checkpoints back on and says so', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    const store = new SqliteEventStore(path.join(tmp(), 'events.sqlite'), { backgroundCheckpoints: true });
    try {
      await until(() => walCheckpointer.stats().files >= 1, 'the file registered');
      const failures = walCheckpointer.stats().failures;
      await walCheckpointer.crashForTest();
      await until(() => store.settings().walAutocheckpoint === 1000, 'the fallback');
      expect(walCheckpointer.stats().failures).toBe(failures + 1);
      await until(() => warnings.some((w) => w.includes('the checkpoint thread failed')), 'the warning');
      await store.appendToStream('t/s', [big(0)], { expectedRevision: 'no_stream' });
    } finally {
      await store.close();
      process.off('warning', onWarning);
    }
  });
});
