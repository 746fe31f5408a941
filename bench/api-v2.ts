/**
 * API v2 against v1 on the same flows page at three page sizes (10, 50, 200
 * flows of 200): the cost of global ids grows with the objects on a page,
 * and this shows by how much, as v1/v2 rate ratios side by side in one run.
 *
 *   NODE_ENV=production npx tsx bench/api-v2.ts [--seconds 5] [--connections 16]
 *
 * autocannon runs in a child process (bench/load.ts), as in gateway-vs-baseline.ts.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/config.js';
import { startGateway, systemCaller } from '../src/server/start.js';
import { silentLogger } from '../src/shared/logger.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, connections: { type: 'string', default: '16' } } });
const TOKEN = 'bench-admin-token-0123456789';
const NAMESPACES = 20;
const FLOWS = 200;
const SIZES = [10, 50, 200];

const v1 = (n: number) =>
  `{ flows(first: ${n}, includeChildren: true) { edges { node { id namespace revision updatedAt tasks { id type } namespaceRef { id description } } } pageInfo { hasNextPage endCursor } } }`;
const v2 = (n: number) =>
  `{ flows(first: ${n}, includeChildren: true) { edges { node { id flowId namespace revision updatedAt tasks { taskId type } namespaceRef { id namespaceId description } } } pageInfo { hasNextPage endCursor } } }`;

async function rate(url: string, query: string): Promise<{ average: number; p99: number; errors: number }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(import.meta.dirname, 'load.ts'),
      JSON.stringify({
        seconds: Number(values.seconds),
        connections: Number(values.connections),
        url,
        token: TOKEN,
        body: JSON.stringify({ query }),
      }),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  const result = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { average: number; p99: number; errors: number; non2xx: number };
  return { average: result.average, p99: result.p99, errors: result.errors + result.non2xx };
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-bench-v2-'));
const config = loadConfig({
  TENANTRY_DATA_DIR: dataDir,
  TENANTRY_PORT: '0',
  TENANTRY_ADMIN_TOKEN: TOKEN,
  TENANTRY_RATE_LIMIT_PER_MINUTE: '1000000',
  TENANTRY_TENANT_RATE_LIMIT_PER_MINUTE: '10000000',
});
const running = await startGateway(config, silentLogger());
const caller = systemCaller(running.app, 'bench');
for (let n = 0; n < NAMESPACES; n++)
  await running.services.namespaces.create(caller, 'main', { id: `company.team${n}`, description: `Team ${n}` });
for (let f = 0; f < FLOWS; f++) {
  await running.services.flows.create(
    caller,
    'main',
    `id: flow${f}\nnamespace: company.team${f % NAMESPACES}\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`,
  );
}
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; read models: ${config.readModels}; ${values.seconds} s per run`,
);
console.log('page size | v1 req/s | v2 req/s | v1/v2 | v1 p99 | v2 p99');
for (const size of SIZES) {
  const one = await rate(running.gateway.url('/api/v1/main/graphql'), v1(size));
  const two = await rate(running.gateway.url('/api/v2/main/graphql'), v2(size));
  if (one.errors || two.errors) console.log(`errors: v1 ${one.errors}, v2 ${two.errors}`);
  console.log(
    `${String(size).padStart(9)} | ${one.average.toFixed(0).padStart(8)} | ${two.average.toFixed(0).padStart(8)} | ${(one.average / two.average).toFixed(2).padStart(5)} | ${String(one.p99).padStart(4)} ms | ${String(two.p99).padStart(4)} ms`,
  );
}
await running.stop();
rmSync(dataDir, { recursive: true, force: true });
