import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { ADMIN_TOKEN } from './gateway.js';

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

/** A gateway in its own OS process (tsx, no build step), for crash and multi-replica tests. */
export async function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    env: { ...process.env, TENANTRY_PORT: String(port), TENANTRY_ADMIN_TOKEN: ADMIN_TOKEN, TENANTRY_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway process exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
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
