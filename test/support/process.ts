import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { ADMIN_TOKEN } from './gateway.js';
import { tenantryArgs } from './tenantry-command.js';

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface GatewayProcess {
  child: ChildProcess;
  port: number;
  url(path?: string): string;
  gql<T = unknown>(tenant: string, query: string): Promise<{ data?: T; errors?: { extensions: { code: string } }[] }>;
  metrics(): Promise<string>;
}

/** Whether the gateway is still starting: bound, but its stores or application not open yet (`/readyz` says `starting`). */
async function stillStarting(base: string): Promise<boolean> {
  const response = await fetch(`${base}/readyz`);
  if (response.status !== 503) return false;
  const body = (await response.json()) as { status?: string };
  return body.status === 'starting';
}

/**
 * A gateway in its own OS process (tsx, no build step), for crash and
 * multi-replica tests. Resolves once it has started (its stores open and
 * GraphQL mounted); with `whenBound`, as soon as it answers `/healthz`.
 */
export async function startGatewayProcess(env: Record<string, string>, options: { whenBound?: boolean } = {}): Promise<GatewayProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, tenantryArgs('serve'), {
    cwd: path.resolve(import.meta.dirname, '../..'),
    env: { ...process.env, TENANTRY_PORT: String(port), TENANTRY_ADMIN_TOKEN: ADMIN_TOKEN, TENANTRY_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway process exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok && (options.whenBound || !(await stillStarting(base)))) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('gateway process did not start');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    port,
    url: (p = '') => `${base}${p}`,
    async gql<T>(tenant: string, query: string) {
      const response = await fetch(`${base}/api/v1/${tenant}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify({ query }),
      });
      return (await response.json()) as { data?: T; errors?: { extensions: { code: string } }[] };
    },
    async metrics() {
      return (await fetch(`${base}/metrics`)).text();
    },
  };
}

/**
 * Waits until `/readyz` answers 200 with every projection at the log's head
 * (lag 0). Ready alone is not enough where a test reads the read models next:
 * /readyz answers 200 already within TENANTRY_READY_MAX_LAG_EVENTS (default
 * 1,000) of the head, while the catch-up still runs.
 */
export async function waitCaughtUp(base: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(`${base}/readyz`);
      if (response.ok) {
        const body = (await response.json()) as { projections: { lagEvents: number }[] | null };
        const projections = body.projections ?? [];
        if (projections.length > 0 && projections.every((p) => p.lagEvents === 0)) return;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${base}: projections not caught up within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Reads one labelled sample from Prometheus text. */
export function metricValue(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${wanted}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

export async function waitUntil(what: string, predicate: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await predicate())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - started;
}

export interface ProjectorProcess {
  child: ChildProcess;
  /** Every JSON log line the process wrote to stdout so far. */
  logs: Record<string, unknown>[];
  /** Resolves with the first log line `predicate` accepts (one already written included). */
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string>;
}

/** A `tenantry project` process (tsx, no build step); resolves once it logged that it runs. */
export async function startProjectorProcess(env: Record<string, string>): Promise<ProjectorProcess> {
  const child = spawn(process.execPath, tenantryArgs('project'), {
    cwd: path.resolve(import.meta.dirname, '../..'),
    env: { ...process.env, TENANTRY_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs: Record<string, unknown>[] = [];
  const listeners = new Set<() => void>();
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line, notJson: true });
      }
    }
    for (const listener of listeners) listener();
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const waitForLog = (predicate: (line: Record<string, unknown>) => boolean, timeoutMs: number) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = (): boolean => {
        const found = logs.find(predicate);
        if (!found) return false;
        cleanup();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(`projector process: no matching log line within ${timeoutMs} ms; got ${JSON.stringify(logs.map((l) => l['msg']))}`),
        );
      }, timeoutMs);
      const onExit = (): void => {
        if (check()) return;
        cleanup();
        reject(new Error(`projector process exited (${child.exitCode ?? child.signalCode}) before the expected log line`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        listeners.delete(check);
        child.off('exit', onExit);
      };
      listeners.add(check);
      child.once('exit', onExit);
      check();
    });
  const projector = { child, logs, waitForLog, exited };
  await waitForLog((l) => l['msg'] === 'tenantry projector running', 30_000);
  return projector;
}

/** Runs the CLI once to its end: exit code, stdout and stderr. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
  stdin?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, tenantryArgs(...args), {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: { ...process.env, ...env },
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    child.stdin?.end(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tenantry ${args.join(' ')} did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
