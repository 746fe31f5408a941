/**
 * Issue 8 benchmark, with autocannon:
 *   1. a typical frontend query (a page of 50 flows with their namespaces)
 *      against the gateway, and the same query against a bare Apollo Server
 *      serving the same data from memory, side by side, with the ratio;
 *   2. mutations per second with read-your-writes on (createNamespace);
 *   3. p50/p99 latencies of each.
 *
 *   npx tsx bench/gateway-vs-baseline.ts [--seconds 10] [--connections 16] [--cpu-profile FILE]
 *
 * `--flows-only` stops after the v1 flows page (for quick comparisons);
 * `--rounds N` measures the baseline and the gateway's flows page N times,
 * alternating, and prints the median ratio (on a shared machine one pair of
 * runs can be 20% off either way).
 * `--cpu-profile FILE` writes a V8 CPU profile (open it in Chrome DevTools or
 * summarise it with bench/profile-summary.ts) of this process during the
 * gateway's v1 flows-page run only; `--baseline-cpu-profile FILE` one of the
 * bare baseline's run before it.
 * `TENANTRY_READ_MODELS` and `TENANTRY_READ_MODEL_CACHE_MB` in the
 * environment pass through to the gateway (memory read models; the SQLite
 * store's document cache off with 0).
 *
 * Both servers run in this process with the same HTTP stack (express 5 +
 * @as-integrations/express5); autocannon runs in a child process
 * (bench/load.ts), so that the load generator never takes the server's
 * event loop (on this 2-core machine, each gets a core).
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Session } from 'node:inspector/promises';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { loadConfig } from '../src/config/config.js';
import { silentLogger } from '../src/shared/logger.js';
import { startGateway, systemCaller } from '../src/server/start.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    'cpu-profile': { type: 'string' },
    'baseline-cpu-profile': { type: 'string' },
    'flows-only': { type: 'boolean', default: false },
    rounds: { type: 'string', default: '1' },
  },
});
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const TOKEN = 'bench-admin-token-0123456789';
const NAMESPACES = 20;
const FLOWS = 200;

const QUERY = `{ flows(first: 50, includeChildren: true) { edges { node { id namespace revision updatedAt namespaceRef { id description } } } pageInfo { hasNextPage endCursor } } }`;
/** The same page on API v2 (docs/api-v2.md): global ids beside the natural keys. */
const QUERY_V2 = `{ flows(first: 50, includeChildren: true) { edges { node { id flowId namespace revision updatedAt namespaceRef { id namespaceId description } } } pageInfo { hasNextPage endCursor } } }`;

const flowSource = (ns: string, id: string) =>
  `id: ${id}\nnamespace: ${ns}\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`;

interface LoadResult {
  average: number;
  total: number;
  /** CPU time of this (the server's) process per request, in ms: less noisy than the rate on a shared machine. */
  cpuMs: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/** Runs autocannon in a child process (bench/load.ts): the load generator does not share the server's event loop. */
async function run(label: string, options: { url: string; token?: string; body?: string; mutation?: boolean }): Promise<LoadResult> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(import.meta.dirname, 'load.ts'),
      JSON.stringify({ seconds: SECONDS, connections: CONNECTIONS, ...options }),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const cpuBefore = process.cpuUsage();
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  const cpu = process.cpuUsage(cpuBefore);
  const result = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as LoadResult;
  result.cpuMs = (cpu.user + cpu.system) / 1000 / Math.max(1, result.total);
  const errors = result.errors + result.non2xx;
  console.log(
    `${label.padEnd(44)} ${result.average.toFixed(0).padStart(6)} req/s   p50 ${String(result.p50).padStart(4)} ms   p99 ${String(result.p99).padStart(4)} ms   CPU ${result.cpuMs.toFixed(2)} ms/req${errors ? `   ${errors} errors` : ''}`,
  );
  return result;
}

/** A V8 CPU profile of this process (the gateway's), from now until stop(file). */
async function startProfile() {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return {
    stop: async (file: string) => {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
      console.log(`CPU profile: ${file}`);
    },
  };
}

/** The bare baseline: the same query shape, plain objects in memory, no auth, no store, no projections. */
async function baseline(data: {
  flows: { id: string; namespace: string; revision: number; updatedAt: string }[];
  namespaces: Map<string, { id: string; description: string | null }>;
}) {
  const typeDefs = `#graphql
    type Namespace { id: ID! description: String }
    type Flow { id: ID! namespace: String! revision: Int! updatedAt: String! namespaceRef: Namespace }
    type FlowEdge { cursor: String! node: Flow! }
    type PageInfo { hasNextPage: Boolean! endCursor: String }
    type FlowConnection { edges: [FlowEdge!]! pageInfo: PageInfo! }
    type Query { flows(first: Int = 50, includeChildren: Boolean): FlowConnection! }
  `;
  const resolvers = {
    Query: {
      flows: (_: unknown, args: { first: number }) => {
        const page = data.flows.slice(0, args.first);
        return {
          edges: page.map((node) => ({ cursor: node.id, node })),
          pageInfo: { hasNextPage: data.flows.length > args.first, endCursor: page.at(-1)?.id ?? null },
        };
      },
    },
    Flow: { namespaceRef: (flow: { namespace: string }) => data.namespaces.get(flow.namespace) ?? null },
  };
  const app = express();
  const server = http.createServer(app);
  const apollo = new ApolloServer({ typeDefs, resolvers });
  await apollo.start();
  app.use('/graphql', express.json(), expressMiddleware(apollo));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/graphql`,
    close: async () => {
      await apollo.stop();
      server.close();
    },
  };
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-bench-'));
const config = loadConfig({
  TENANTRY_DATA_DIR: dataDir,
  TENANTRY_PORT: '0',
  TENANTRY_ADMIN_TOKEN: TOKEN,
  // Limits and rate limits would throttle the load generator itself.
  TENANTRY_RATE_LIMIT_PER_MINUTE: '1000000',
  TENANTRY_TENANT_RATE_LIMIT_PER_MINUTE: '10000000',
  // The embedded default (SQLite read models) unless the environment says otherwise (memory, for a comparison).
  ...(process.env['TENANTRY_READ_MODELS'] ? { TENANTRY_READ_MODELS: process.env['TENANTRY_READ_MODELS'] } : {}),
  // The SQLite read models' parsed-document cache (0: off, for a comparison).
  ...(process.env['TENANTRY_READ_MODEL_CACHE_MB'] ? { TENANTRY_READ_MODEL_CACHE_MB: process.env['TENANTRY_READ_MODEL_CACHE_MB'] } : {}),
});
console.log(`read models: ${config.readModels}${config.readModels === 'sqlite' ? `, document cache ${config.readModelCacheMb} MiB` : ''}`);
const running = await startGateway(config, silentLogger());
const caller = systemCaller(running.app, 'bench');
for (let n = 0; n < NAMESPACES; n++)
  await running.services.namespaces.create(caller, 'main', { id: `company.team${n}`, description: `Team ${n}` });
for (let f = 0; f < FLOWS; f++)
  await running.services.flows.create(caller, 'main', flowSource(`company.team${f % NAMESPACES}`, `flow${f}`));

// The baseline serves exactly what the gateway answers (read page by page, under the query limits).
type Node = {
  id: string;
  namespace: string;
  revision: number;
  updatedAt: string;
  namespaceRef: { id: string; description: string | null };
};
const flows: Node[] = [];
for (let after: string | null = null; ;) {
  const probe = await fetch(running.gateway.url('/api/v1/main/graphql'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ query: QUERY.replace('first: 50', `first: 50, after: ${JSON.stringify(after)}`) }),
  });
  const answer = (await probe.json()) as {
    data?: { flows: { edges: { node: Node }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
    errors?: unknown;
  };
  if (!answer.data) throw new Error(`probe failed: ${JSON.stringify(answer.errors)}`);
  flows.push(...answer.data.flows.edges.map((e) => e.node));
  if (!answer.data.flows.pageInfo.hasNextPage) break;
  after = answer.data.flows.pageInfo.endCursor;
}
const bare = await baseline({
  flows: flows.map(({ namespaceRef: _n, ...flow }) => flow),
  namespaces: new Map(flows.map((f) => [f.namespace, f.namespaceRef] as const)),
});

console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; ${SECONDS} s per run, ${CONNECTIONS} connections`,
);
console.log(`query: a page of 50 flows (of ${FLOWS}, in ${NAMESPACES} namespaces) with their namespaces`);
const body = JSON.stringify({ query: QUERY });
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ROUNDS = Number(values.rounds);
const rates: number[] = [];
const cpuRatios: number[] = [];
let bareResult!: LoadResult;
let gatewayResult!: LoadResult;
for (let round = 1; round <= ROUNDS; round++) {
  if (ROUNDS > 1) console.log(`round ${round} of ${ROUNDS}`);
  const bareProfiler = values['baseline-cpu-profile'] && round === ROUNDS ? await startProfile() : undefined;
  bareResult = await run('bare Apollo Server (in-memory data)', { url: bare.url, body });
  if (bareProfiler && values['baseline-cpu-profile']) await bareProfiler.stop(values['baseline-cpu-profile']);
  const profiler = values['cpu-profile'] && round === ROUNDS ? await startProfile() : undefined;
  gatewayResult = await run('tenantry gateway (auth, RBAC, read models)', {
    url: running.gateway.url('/api/v1/main/graphql'),
    token: TOKEN,
    body,
  });
  if (profiler && values['cpu-profile']) await profiler.stop(values['cpu-profile']);
  rates.push(bareResult.average / gatewayResult.average);
  cpuRatios.push(gatewayResult.cpuMs / bareResult.cpuMs);
  console.log(`ratio baseline/gateway: ${rates.at(-1)!.toFixed(2)}× (target ≤ 1.8×); CPU per request ${cpuRatios.at(-1)!.toFixed(2)}×`);
}
if (ROUNDS > 1) {
  console.log(
    `over ${ROUNDS} rounds: rate ratio median ${median(rates).toFixed(2)}× (${Math.min(...rates).toFixed(2)}–${Math.max(...rates).toFixed(2)}), CPU per request median ${median(cpuRatios).toFixed(2)}× (${Math.min(...cpuRatios).toFixed(2)}–${Math.max(...cpuRatios).toFixed(2)})`,
  );
}
if (values['flows-only']) {
  await bare.close();
  await running.stop();
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
}
const v2Result = await run('tenantry gateway, API v2 (global ids)', {
  url: running.gateway.url('/api/v2/main/graphql'),
  token: TOKEN,
  body: JSON.stringify({ query: QUERY_V2 }),
});
console.log(
  `ratio baseline/v2: ${(bareResult.average / v2Result.average).toFixed(2)}×; v1/v2: ${(gatewayResult.average / v2Result.average).toFixed(2)}×`,
);

const mutations = await run('mutations: createNamespace, read-your-writes', {
  url: running.gateway.url('/api/v1/main/graphql'),
  token: TOKEN,
  mutation: true,
});
console.log(`mutations per second: ${mutations.average.toFixed(0)} (target ≥ 2,000)`);

await bare.close();
await running.stop();
rmSync(dataDir, { recursive: true, force: true });
