/**
 * The ledger's appends to ledger.sqlite commit on a thread of their own
 * (src/ledger/sqlite-writer.ts): while an append waits for the file's write
 * lock or its fsync, the event loop serves everything else.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { LedgerWriterDiedError } from '../../src/ledger/sqlite-writer.js';
import { SqliteLedgerStore } from '../../src/ledger/sqlite-store.js';
import type { LedgerHead } from '../../src/ledger/store.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function ledgerFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-ledger-writer-'));
  dirs.push(dir);
  return path.join(dir, 'ledger.sqlite');
}

const leaf = (index: number, position: number) => ({ index, position, hash: Buffer.alloc(32, index + 1) });
const head = (size: number, position: number): LedgerHead => ({ tenantId: 't1', size, position, frontier: [Buffer.alloc(32, 7)] });

describe('ledger appends on a writer thread', () => {
  /**
   * Another connection (a CLI beside the gateway) holds the file's write lock
   * for `ms`, released by a timer, while `write` runs; counts the event loop's
   * 10 ms ticks meanwhile. In-process, a write would wait inside SQLite's busy
   * handler with the event loop held: the timer that releases the lock could
   * not fire, and the write would fail with SQLITE_BUSY after 5 s.
   */
  async function whileLocked<R>(file: string, ms: number, write: () => Promise<R>): Promise<{ result: R; ticks: number }> {
    const other = new Database(file, { timeout: 5000 });
    other.exec('BEGIN IMMEDIATE');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const released = new Promise<void>((resolve) =>
      setTimeout(() => {
        other.exec('COMMIT');
        resolve();
      }, ms),
    );
    try {
      const result = await write();
      await released;
      return { result, ticks };
    } finally {
      clearInterval(timer);
      other.close();
    }
  }

  it('an append waiting for the write lock does not hold the event loop; it commits once the lock is free', async () => {
    const store = new SqliteLedgerStore(ledgerFile());
    try {
      const { result: moved, ticks } = await whileLocked(store.filePath, 400, () => store.append(head(1, 3), 0, [leaf(0, 3)], []));
      expect(moved).toBe(true);
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(await store.head('t1')).toMatchObject({ size: 1, position: 3 });
      expect(await store.leaves('t1', 0, 10)).toEqual([leaf(0, 3)]);
    } finally {
      await store.close();
    }
  });

  it('a signed checkpoint is stored by the thread too: waiting for the lock does not hold the event loop', async () => {
    const store = new SqliteLedgerStore(ledgerFile());
    try {
      const checkpoint = { tenantId: 't1', size: 1, signedAt: '2026-12-04T00:00:00.000Z', rootHash: 'ab', keyId: 'k1', signature: 'sig' };
      const { ticks } = await whileLocked(store.filePath, 300, () => store.saveCheckpoint(checkpoint));
      expect(ticks).toBeGreaterThanOrEqual(8);
      expect(await store.checkpoints('t1')).toEqual([checkpoint]);
    } finally {
      await store.close();
    }
  });

  it("an append against a head that moved answers false and writes nothing; a dead thread's append is refused and the next gets a new thread", async () => {
    const file = ledgerFile();
    const store = new SqliteLedgerStore(file);
    try {
      expect(await store.append(head(1, 3), 0, [leaf(0, 3)], [])).toBe(true);
      expect(await store.append(head(2, 5), 0, [leaf(1, 5)], [])).toBe(false);
      expect(await store.leaves('t1', 0, 10)).toEqual([leaf(0, 3)]);

      const writer = (store as unknown as { writer: { crashForTest(): Promise<void>; append: (...a: unknown[]) => Promise<boolean> } })
        .writer;
      const pending = store.append(head(2, 5), 3, [leaf(1, 5)], []);
      await writer.crashForTest();
      const outcome = await pending.then(
        (moved) => ({ moved }),
        (error: unknown) => ({ error }),
      );
      // Either it committed before the thread ended, or it was refused as unknown; a retry settles it.
      if ('error' in outcome) expect(outcome.error).toBeInstanceOf(LedgerWriterDiedError);
      const current = await store.head('t1');
      if (current?.position === 3) expect(await store.append(head(2, 5), 3, [leaf(1, 5)], [])).toBe(true);
      expect(await store.head('t1')).toMatchObject({ size: 2, position: 5 });
    } finally {
      await store.close();
    }
  });
});
