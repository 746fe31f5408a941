/**
 * A thread that runs plain JavaScript against better-sqlite3: the SQLite log's
 * writer and the WAL checkpointer. The code is evaluated, so the thread starts
 * in a few milliseconds without the TypeScript loader (under vitest and
 * `npx tsx` as in `dist/`); it finds the driver at `workerData.driver`.
 * Unreferenced: an idle thread does not keep the process alive.
 */
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
