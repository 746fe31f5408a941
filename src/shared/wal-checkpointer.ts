/**
 * WAL checkpoints of SQLite files on a thread of their own.
 *
 * In WAL mode SQLite copies the log back into the database file (a
 * checkpoint) inside the commit that crosses `wal_autocheckpoint` pages
 * (1,000 by default, 4 MB). better-sqlite3 is synchronous, so that commit
 * holds the one event loop for the copy and its fsyncs: 15–25 ms on this
 * project's bench machine every 20 saves of a 200 KB flow, for every tenant.
 *
 * A file registered here has its connection's automatic checkpoints turned
 * off (the store does that) and is checkpointed by this module's thread
 * instead, PASSIVE every `intervalMs`: it never waits for readers or writers,
 * and the commits on the event loop only append to the WAL. If the thread
 * fails, every registered store is told (`onFailure`) and turns its
 * automatic checkpoints back on, so the WAL never grows without bound.
 *
 * The thread's code is plain JavaScript, evaluated: it starts in a few
 * milliseconds without the TypeScript loader, under vitest and `npx tsx` as
 * in `dist/`. One thread per process serves every registered file.
 */
import type { Worker } from 'node:worker_threads';
import { sqliteThread } from './sqlite-thread.js';
import type Database from 'better-sqlite3';

/** SQLite's own default, which a store goes back to when the thread fails. */
export const SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const files = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'add') {
    try {
      // timeout 0: a checkpoint never waits for a lock; the next tick tries again.
      files.set(m.id, new Database(m.file, { fileMustExist: true, timeout: 0 }));
      parentPort.postMessage({ op: 'added', id: m.id });
    } catch (error) {
      parentPort.postMessage({ op: 'added', id: m.id, error: String((error && error.message) || error) });
    }
  } else if (m.op === 'remove') {
    const db = files.get(m.id);
    files.delete(m.id);
    try { if (db) db.close(); } catch (error) { /* closing is best effort */ }
    parentPort.postMessage({ op: 'removed', id: m.id });
  }
});
// A write or read in progress makes TRUNCATE busy (it never waits: timeout 0, so the event loop's writers are held
// off only while it copies); under steady writes that is often, so it tries again every millisecond for a while.
const TRUNCATE_ATTEMPTS = 200;
function truncate(id, db, frames, attempts) {
  if (files.get(id) !== db) return;
  try {
    const [truncated] = db.pragma('wal_checkpoint(TRUNCATE)');
    if (truncated && truncated.busy === 0) {
      parentPort.postMessage({ op: 'truncated', id, frames });
      return;
    }
  } catch (error) {
    // SQLITE_BUSY: as busy
  }
  if (attempts > 1) setTimeout(() => truncate(id, db, frames, attempts - 1), 1);
}
setInterval(() => {
  for (const [id, db] of files) {
    try {
      const [result] = db.pragma('wal_checkpoint(PASSIVE)');
      if (result && result.checkpointed > 0) parentPort.postMessage({ op: 'checkpointed', id, frames: result.checkpointed });
      // Under writes that never pause, the WAL is never wholly copied when the next write starts, so SQLite
      // never starts it over: it grew by 90 MB a second during a catch-up (46 GB for part of 3M events).
      // Past the limit, TRUNCATE copies the few frames written since the PASSIVE pass, with writers held off
      // for that moment only, and empties the file; busy (a write or a long read in progress): next tick.
      if (result && result.log >= workerData.truncateFrames) truncate(id, db, result.log, TRUNCATE_ATTEMPTS);
    } catch (error) {
      // SQLITE_BUSY (another checkpoint or a recovery runs): the next tick tries again.
    }
  }
}, workerData.intervalMs);
`;

interface Registration {
  file: string;
  onFailure: () => void;
  added: (error?: string) => void;
  removed: () => void;
}

type FromThread =
  | { op: 'added'; id: number; error?: string }
  | { op: 'removed'; id: number }
  | { op: 'checkpointed'; id: number; frames: number }
  | { op: 'truncated'; id: number; frames: number };

export interface WalCheckpointerStats {
  /** Files registered now. */
  files: number;
  /** WAL frames the thread has copied into database files since the process started. */
  checkpointedFrames: number;
  /** Checkpoints that copied at least one frame. */
  checkpoints: number;
  /** Times a WAL past the size limit was copied to its end and emptied (TRUNCATE). */
  truncations: number;
  /** Times the thread failed and the stores fell back to automatic checkpoints. */
  failures: number;
}

class WalCheckpointer {
  private worker: Worker | null = null;
  private readonly registrations = new Map<number, Registration>();
  private nextId = 1;
  private readonly counters = { checkpointedFrames: 0, checkpoints: 0, truncations: 0, failures: 0 };

  constructor(
    private readonly intervalMs: number,
    /** WAL frames (pages) past which the WAL is emptied (see THREAD). */
    private readonly truncateFrames: number = TRUNCATE_FRAMES,
  ) {}

  stats(): WalCheckpointerStats {
    return { files: this.registrations.size, ...this.counters };
  }

  /**
   * Checkpoints `file` on the thread from now on; resolves once the thread has
   * the file open. `onFailure` is called (at most once) if the thread cannot
   * take it or fails later: the caller turns its own checkpoints back on.
   * The returned `release()` closes the thread's connection (call it before
   * closing the store's, so the last connection to close is the store's).
   */
  async register(file: string, onFailure: () => void): Promise<{ release: () => Promise<void> }> {
    const id = this.nextId++;
    let failed = false;
    const fail = () => {
      if (failed) return;
      failed = true;
      onFailure();
    };
    let resolveAdded: (error?: string) => void = () => undefined;
    const added = new Promise<string | undefined>((resolve) => (resolveAdded = resolve));
    let resolveRemoved: () => void = () => undefined;
    const removed = new Promise<void>((resolve) => (resolveRemoved = resolve));
    this.registrations.set(id, { file, onFailure: fail, added: resolveAdded, removed: resolveRemoved });
    const worker = this.thread();
    worker.postMessage({ op: 'add', id, file });
    const error = await added;
    if (error !== undefined) {
      this.registrations.delete(id);
      this.stopIfIdle();
      fail();
    }
    return {
      release: async () => {
        if (!this.registrations.has(id)) return;
        this.worker?.postMessage({ op: 'remove', id });
        await removed;
        this.registrations.delete(id);
        this.stopIfIdle();
      },
    };
  }

  /** `register()` for a caller that cannot wait: `release()` waits for the registration first. */
  inBackground(file: string, onFailure: () => void): BackgroundCheckpoints {
    const registration = this.register(file, onFailure);
    return { release: async () => (await registration).release() };
  }

  /** Ends the thread as if it had crashed (tests of the fallback). */
  async crashForTest(): Promise<void> {
    await this.worker?.terminate();
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = sqliteThread(THREAD, { intervalMs: this.intervalMs, truncateFrames: this.truncateFrames });
    worker.on('message', (message: FromThread) => {
      const registration = this.registrations.get(message.id);
      if (!registration) return;
      if (message.op === 'added') registration.added(message.error);
      else if (message.op === 'removed') registration.removed();
      else if (message.op === 'truncated') this.counters.truncations++;
      else {
        this.counters.checkpoints++;
        this.counters.checkpointedFrames += message.frames;
      }
    });
    const gone = () => {
      if (this.worker !== worker) return;
      this.worker = null;
      if (this.registrations.size === 0) return;
      this.counters.failures++;
      const lost = [...this.registrations.values()];
      this.registrations.clear();
      for (const registration of lost) {
        registration.onFailure();
        registration.added('the checkpoint thread ended');
        registration.removed();
      }
    };
    worker.on('error', gone);
    worker.on('exit', gone);
    this.worker = worker;
    return worker;
  }

  private stopIfIdle(): void {
    if (this.registrations.size > 0 || !this.worker) return;
    const worker = this.worker;
    this.worker = null;
    void worker.terminate();
  }
}

/** 16,384 frames: 64 MiB of WAL at SQLite's default 4 KiB pages. */
export const TRUNCATE_FRAMES = 16_384;

/** Every 250 ms: at the bench's 50 saves of 200 KB a second, about 2.5 MB of WAL a checkpoint. */
export const walCheckpointer = new WalCheckpointer(250);

/** A connection whose WAL the thread checkpoints; `release()` before closing the connection. */
export interface BackgroundCheckpoints {
  release(): Promise<void>;
}

/**
 * Turns off `db`'s automatic checkpoints and hands them to the thread; if the
 * thread cannot take the file or fails later, they are turned back on (and a
 * warning goes to `warn`). `file` is the database file `db` has open.
 */
export function checkpointInBackground(
  db: Database.Database,
  file: string,
  warn: (message: string) => void = (message) => process.emitWarning(message, 'TenantryWalCheckpoints'),
): BackgroundCheckpoints {
  db.pragma('wal_autocheckpoint = 0');
  return walCheckpointer.inBackground(file, () => {
    if (!db.open) return;
    db.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES}`);
    warn(`WAL checkpoints of ${file} are back on the event loop: the checkpoint thread failed`);
  });
}
