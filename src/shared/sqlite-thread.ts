/**
 * A thread that runs plain JavaScript against better-sqlite3: the SQLite log's
 * writer, the ledger's writer and the WAL checkpointer. The code is
 * evaluated, so the thread starts in a few milliseconds without the
 * TypeScript loader (under vitest and `npx tsx` as in `dist/`); it finds the
 * driver at `workerData.driver`. Unreferenced: an idle thread does not keep
 * the process alive.
 */
import Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export function sqliteThread(code: string, workerData: Record<string, unknown>): Worker {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(code, {
    eval: true,
    // CommonJS whatever the process was started with (`--input-type=module` would make the code a module), and no loader.
    execArgv: [],
    workerData: { driver, ...workerData },
  });
  worker.unref();
  return worker;
}

/** An error the thread reports: its message, and SQLite's code when SQLite raised it. */
export interface ThreadFailure {
  message: string;
  code?: string;
}

/** An error of the thread as the main thread would have seen it: a SqliteError when SQLite raised it, so it maps the same way. */
export function threadError(failure: ThreadFailure): Error {
  return failure.code?.startsWith('SQLITE_') ? new Database.SqliteError(failure.message, failure.code) : new Error(failure.message);
}

/**
 * Requests to a writer thread and their answers, matched by id. The thread
 * starts with the first request (`workerData()` is read then, so a later
 * thread gets the settings of its time) and answers every message with its
 * `id`. If it dies, every request still waiting is rejected with
 * `diedError(detail)`, and the next request starts a new thread. `close()`
 * sends `{op: 'close'}`, which the thread answers once its connection is
 * closed, after the requests sent before it.
 */
export class SqliteThreadClient<Answer extends { id: number }> {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (answer: Answer) => void; reject: (error: Error) => void }>();

  constructor(
    private readonly code: string,
    private readonly workerData: () => Record<string, unknown>,
    private readonly diedError: (detail: string) => Error,
  ) {}

  /** Whether a thread runs now. */
  get running(): boolean {
    return this.worker !== null;
  }

  request(message: { op: string } & Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Answer> {
    const worker = this.thread();
    const id = this.nextId++;
    worker.ref();
    return new Promise<Answer>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ ...message, id }, transfer);
    });
  }

  /** Closes the thread's connection and ends the thread; requests already sent are finished first. */
  async close(): Promise<void> {
    if (!this.worker) return;
    const worker = this.worker;
    await this.request({ op: 'close' }).catch(() => undefined);
    this.worker = null;
    await worker.terminate();
  }

  /** Ends the thread as if it had crashed (tests). */
  async crashForTest(): Promise<void> {
    await this.worker?.terminate();
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = sqliteThread(this.code, this.workerData());
    worker.on('message', (answer: Answer) => {
      const waiter = this.waiting.get(answer.id);
      this.waiting.delete(answer.id);
      // An idle thread does not keep the process alive (a store left open).
      if (this.waiting.size === 0) worker.unref();
      waiter?.resolve(answer);
    });
    const died = (reason: unknown) => {
      if (this.worker !== worker) return;
      this.worker = null;
      const detail = reason instanceof Error ? reason.message : `exit code ${String(reason)}`;
      for (const [id, waiter] of this.waiting) {
        this.waiting.delete(id);
        waiter.reject(this.diedError(detail));
      }
    };
    worker.on('error', died);
    worker.on('exit', died);
    this.worker = worker;
    return worker;
  }
}

/**
 * What both writer threads (the log's, the ledger's) share: the thread, its
 * settings (read again by a new thread), the WAL's automatic checkpoints
 * switched while it runs (its code answers `{op: 'autocheckpoint', pages}`),
 * closing and crashing it. Subclasses add their writes.
 */
export abstract class SqliteWriter<Answer extends { id: number }, Settings extends { walAutocheckpoint: number }> {
  protected readonly thread: SqliteThreadClient<Answer>;
  /** Commits the thread made (tests count them). */
  commits = 0;

  constructor(
    code: string,
    file: string,
    protected readonly settings: Settings,
    diedError: (detail: string) => Error,
  ) {
    this.thread = new SqliteThreadClient<Answer>(code, () => ({ file, ...this.settings }), diedError);
  }

  /** Pages after which the thread's commits checkpoint the WAL themselves (0: never). */
  get walAutocheckpoint(): number {
    return this.settings.walAutocheckpoint;
  }

  /** Changes it for the running thread and any later one (when the checkpoint thread fails). */
  async setWalAutocheckpoint(pages: number): Promise<void> {
    this.settings.walAutocheckpoint = pages;
    if (this.thread.running) await this.thread.request({ op: 'autocheckpoint', pages });
  }

  /** Closes the thread's connection and ends the thread; writes already sent are finished first. */
  close(): Promise<void> {
    return this.thread.close();
  }

  /** Ends the thread as if it had crashed (tests). */
  crashForTest(): Promise<void> {
    return this.thread.crashForTest();
  }
}
