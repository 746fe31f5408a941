/**
 * vitest globalSetup: makes a MongoDB-wire server available to the suites
 * that need one, without ever failing the run when there is none.
 *
 * 1. `TENANTRY_TEST_MONGODB_URI` already set (e.g. by .ci/run): used as is.
 * 2. Else, a `ferretdb` binary on PATH (or at $HOME/go/bin/ferretdb) is started
 *    on 127.0.0.1 with the SQLite backend in a temp dir, and its URI is
 *    published. Set `TENANTRY_TEST_FERRETDB=off` to skip this step.
 * 3. Else nothing: suites that need MongoDB say they were skipped.
 *
 * It also compiles src/ once for the processes the tests start
 * (./compile-sources.ts, ./tenantry-command.ts).
 *
 * The URI reaches the test workers twice over: in process.env (set here,
 * before the forked workers start, which inherit it) and via
 * `project.provide('mongoUri')` / `inject('mongoUri')`. Tests read it with
 * `testMongoUri()` from test/support/mongo.ts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, openSync, readFileSync, rmSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { MongoClient } from 'mongodb';
import type { TestProject } from 'vitest/node';
import { COMPILED_MAIN_ENV, compileSources } from './compile-sources.js';
// Not imported from ./mongo.js, which imports the test-side vitest API.
const MONGO_URI_ENV = 'TENANTRY_TEST_MONGODB_URI';

const START_TIMEOUT_MS = 20_000;

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findFerretdb(): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, 'ferretdb'))) return join(dir, 'ferretdb');
  }
  const fallback = join(process.env['HOME'] ?? homedir(), 'go', 'bin', 'ferretdb');
  return isExecutable(fallback) ? fallback : undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForPing(uri: string, child: ChildProcess, deadline: number): Promise<void> {
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`ferretdb exited early (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1000, connectTimeoutMS: 1000 });
    try {
      await client.connect();
      await client.db('admin').command({ ping: 1 });
      return;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  throw new Error(`ferretdb did not answer ping within ${START_TIMEOUT_MS} ms: ${String(lastError)}`);
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

interface Started {
  uri: string;
  stop: () => Promise<void>;
}

export async function startFerretdb(binary: string, options: { extraArgs?: string[] } = {}): Promise<Started> {
  // A binary that cannot even print its version (e.g. built without
  // build/version/version.txt, which panics at start) is not worth waiting for.
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.status !== 0) {
    throw new Error(`${binary} --version failed: ${(probe.stderr || probe.stdout || '').split('\n')[0]}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tenantry-ferretdb-'));
  const port = await freePort();
  const debugPort = await freePort();
  const logPath = join(dir, 'ferretdb.log');
  const log = openSync(logPath, 'a');
  const child = spawn(
    binary,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      `--state-dir=${dir}`,
      `--debug-addr=127.0.0.1:${debugPort}`,
      '--telemetry=disable',
      '--log-level=error',
      ...(options.extraArgs ?? []),
    ],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    child.kill('SIGTERM');
    if (!(await waitForExit(child, 5000))) {
      child.kill('SIGKILL');
      await waitForExit(child, 2000);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const uri = `mongodb://127.0.0.1:${port}/`;
  try {
    await waitForPing(uri, child, Date.now() + START_TIMEOUT_MS);
  } catch (err) {
    let tail = '';
    try {
      tail = readFileSync(logPath, 'utf8').split('\n').slice(-5).join('\n');
    } catch {
      // no log
    }
    await stop();
    throw new Error(`${String(err instanceof Error ? err.message : err)}${tail ? `\n${tail}` : ''}`, { cause: err });
  }
  return { uri, stop };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Before the workers fork: they inherit the variable.
  const compiled = await compileSources(join(import.meta.dirname, '..', '..'));
  process.env[COMPILED_MAIN_ENV] = compiled.main;
  const stopMongo = await setupMongo(project);
  return async () => {
    await stopMongo();
    compiled.remove();
  };
}

async function setupMongo(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env[MONGO_URI_ENV];
  if (given) {
    project.provide('mongoUri', given);
    project.provide('mongoSkipReason', undefined);
    return async () => {};
  }
  if (/^(off|0|false|no)$/i.test(process.env['TENANTRY_TEST_FERRETDB'] ?? '')) {
    project.provide('mongoUri', undefined);
    project.provide('mongoSkipReason', `no ${MONGO_URI_ENV} and TENANTRY_TEST_FERRETDB=off`);
    return async () => {};
  }
  const binary = findFerretdb();
  if (!binary) {
    project.provide('mongoUri', undefined);
    project.provide('mongoSkipReason', `no ${MONGO_URI_ENV} and no ferretdb binary on PATH`);
    return async () => {};
  }
  let started: Started;
  try {
    started = await startFerretdb(binary);
  } catch (err) {
    const reason = `no ${MONGO_URI_ENV} and ferretdb (${binary}) failed to start: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
    console.warn(`[global-setup] ${reason}`);
    project.provide('mongoUri', undefined);
    project.provide('mongoSkipReason', reason);
    return async () => {};
  }
  process.env[MONGO_URI_ENV] = started.uri;
  project.provide('mongoUri', started.uri);
  project.provide('mongoSkipReason', undefined);
  return async () => {
    if (process.env[MONGO_URI_ENV] === started.uri) delete process.env[MONGO_URI_ENV];
    await started.stop();
  };
}
