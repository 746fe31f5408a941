/**
 * A small pool of worker threads (piscina) for CPU-bound pure functions that
 * would otherwise hold the one event loop: created at its first task, bounded
 * (past `threads + maxQueue` tasks in flight it refuses with RATE_LIMITED
 * rather than letting a queue grow without end), and `destroy()`ed when its
 * owner stops; a task after that creates it anew.
 *
 * The worker module is a file next to the module that owns the pool, found
 * with the caller's own extension: `.js` in `dist/` (compiled), `.ts` when
 * running the sources (vitest, `npx tsx`), where the worker gets tsx's loader
 * through `execArgv`. tsx is resolved only then, so `dist/` does not need it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Transferable } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { DomainError, ErrorCode } from './errors.js';

/** Leaves one core to the event loop; at most 4, at least 1. */
export const defaultWorkerThreads = (): number => Math.max(1, Math.min(4, availableParallelism() - 1));

export interface WorkerModule {
  /** file: URL of the worker module. */
  filename: string;
  /** Node options of the worker threads; undefined inherits the process's. */
  execArgv: string[] | undefined;
}

/**
 * The worker module `name` next to the module at `moduleUrl` (pass
 * `import.meta.url`), with that module's extension: compiled `.js` runs as
 * is, a `.ts` source runs with tsx's loader.
 */
export function workerModule(moduleUrl: string, name: string): WorkerModule {
  const owner = new URL(moduleUrl);
  owner.search = '';
  owner.hash = '';
  const ownerPath = fileURLToPath(owner);
  const extension = path.extname(ownerPath);
  const file = path.join(path.dirname(ownerPath), `${name}${extension}`);
  if (!existsSync(file)) throw new Error(`worker module ${file} not found`);
  if (extension !== '.ts') return { filename: pathToFileURL(file).href, execArgv: undefined };
  const tsx = pathToFileURL(createRequire(ownerPath).resolve('tsx')).href;
  return { filename: pathToFileURL(file).href, execArgv: ['--import', tsx] };
}

export interface WorkerPoolOptions {
  /** Names the pool in refusals. */
  name: string;
  /** Resolved when the pool is first created. */
  module: () => WorkerModule;
  threads: number;
  /** Tasks that may wait for a free thread; past them `run()` refuses. */
  maxQueue: number;
  /** Threads beyond the first end after this long without work. */
  idleTimeoutMs?: number;
  /**
   * Added to the threads' nice value (Linux; piscina applies it through its
   * optional @napi-rs/nice, and silently does not where that is missing).
   * The event loop keeps the default priority, so requests that need only it
   * are served first when the cores are busy with parsing.
   */
  niceIncrement?: number;
  /** Threads kept while idle (default 1); 0 for work that comes rarely (verifications). */
  minThreads?: number;
}

/** Per task: a deadline (aborting ends the task's thread at once) and objects moved to the thread (a MessagePort). */
export interface RunOptions {
  signal?: AbortSignal | undefined;
  transferList?: Transferable[] | undefined;
}

/** What `run()` throws when the pool is full: the client may retry shortly. */
export function workersBusy(name: string, retryAfterSeconds = 1): DomainError {
  return new DomainError(ErrorCode.RATE_LIMITED, `the server is busy (${name}); retry in ${retryAfterSeconds} s`, {
    scope: 'server',
    retryAfterSeconds,
  });
}

export class WorkerPool<Task, Result> {
  private pool: Piscina<Task, Result> | null = null;
  private inFlight = 0;
  /** Tasks the worker threads finished (answered or threw); tests count them. */
  completed = 0;

  constructor(private options: WorkerPoolOptions) {}

  get threads(): number {
    return this.options.threads;
  }

  /** Worker threads of the current pool (none before the first task and after `destroy()`). */
  get alive(): number {
    return this.pool?.threads.length ?? 0;
  }

  /** Tasks submitted and not yet finished (running or waiting). */
  get pending(): number {
    return this.inFlight;
  }

  /** Takes effect for the next pool created; a running one with another size is closed once its tasks are done. */
  resize(threads: number, maxQueue = this.options.maxQueue): void {
    if (threads === this.options.threads && maxQueue === this.options.maxQueue) return;
    this.options = { ...this.options, threads, maxQueue };
    this.destroy().catch(() => undefined); // destroy() does not throw; nobody waits for this one
  }

  /** Runs `task` on a worker thread; refuses with RATE_LIMITED when `threads + maxQueue` tasks are in flight. */
  async run(task: Task, options: RunOptions = {}): Promise<Result> {
    if (this.inFlight >= this.options.threads + this.options.maxQueue) throw workersBusy(this.options.name);
    this.inFlight++;
    try {
      return await this.piscina().run(task, {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.transferList ? { transferList: options.transferList } : {}),
      });
    } finally {
      this.inFlight--;
      this.completed++;
    }
  }

  /**
   * Closes the threads once the tasks already given to them are done (or,
   * past piscina's close timeout of 30 s, at once); a later `run()` starts a
   * new pool.
   */
  async destroy(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    if (!pool) return;
    try {
      await pool.close();
    } catch {
      await pool.destroy();
    }
  }

  private piscina(): Piscina<Task, Result> {
    if (this.pool) return this.pool;
    const { filename, execArgv } = this.options.module();
    this.pool = new Piscina<Task, Result>({
      filename,
      ...(execArgv ? { execArgv } : {}),
      minThreads: this.options.minThreads ?? 1,
      maxThreads: this.options.threads,
      idleTimeout: this.options.idleTimeoutMs ?? 30_000,
      niceIncrement: this.options.niceIncrement ?? 0,
      // Bounded above, by tasks in flight: piscina's own bound also counts threads still starting.
      maxQueue: Infinity,
    });
    return this.pool;
  }
}
