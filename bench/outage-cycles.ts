/**
 * Read-model outage cycles under load (issue 19): a gateway on MongoDB read
 * models (a FerretDB of its own), mutations sent continuously at a steady
 * rate, and FerretDB stopped and started again `--cycles` times. After each
 * restart the gateway must become ready (/readyz 200: every projection at the
 * head, none failing or stalled) within `--recover-s` seconds, by itself;
 * every mutation answered OK must then be visible, once.
 *
 *   node --import tsx bench/outage-cycles.ts [--cycles 20] [--rate 40] [--down-s 5] [--recover-s 60] [--max-in-flight 16]
 *
 * Prints one line per cycle (how long the recovery took, mutations answered
 * during the outage) and exits 1 if any cycle did not recover.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/config.js';
import { createLogger } from '../src/shared/logger.js';
import { startGateway } from '../src/server/start.js';

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '20' },
    rate: { type: 'string', default: '40' },
    'down-s': { type: 'string', default: '5' },
    'recover-s': { type: 'string', default: '60' },
    // TENANTRY_MONGODB_MAX_IN_FLIGHT (admission control); default: the gateway's.
    'max-in-flight': { type: 'string' },
  },
});
const cycles = Number(values.cycles);
const rate = Number(values.rate);
const downMs = Number(values['down-s']) * 1000;
const recoverMs = Number(values['recover-s']) * 1000;

const script = path.resolve(import.meta.dirname, '../scripts/ferretdb.sh');
const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-outage-bench-'));
const ferret = (...args: string[]) => execFileSync('bash', [script, ...args], { encoding: 'utf8' }).trim();
const port = 20_000 + Math.floor(Math.random() * 20_000);
const uri = ferret('start', path.join(dir, 'ferret'), String(port));

const token = 'bench-outage-admin-token-0123456789abcdef';
const config = loadConfig({
  TENANTRY_DATA_DIR: path.join(dir, 'data'),
  TENANTRY_PORT: '0',
  TENANTRY_HOST: '127.0.0.1',
  TENANTRY_ADMIN_TOKEN: token,
  TENANTRY_READ_MODELS: 'mongodb',
  TENANTRY_MONGODB_URI: uri,
  TENANTRY_MONGODB_DB: 'outage_bench',
  TENANTRY_VAULT: 'embedded',
  TENANTRY_PROJECTION_LEASE_MS: '1500',
  TENANTRY_READ_YOUR_WRITES_TIMEOUT_MS: '1000',
  TENANTRY_PROJECTION_STALL_MS: '5000',
  TENANTRY_RATE_LIMIT_PER_MINUTE: '1000000',
  TENANTRY_TENANT_RATE_LIMIT_PER_MINUTE: '10000000',
  ...(values['max-in-flight'] ? { TENANTRY_MONGODB_MAX_IN_FLIGHT: values['max-in-flight'] } : {}),
});
const running = await startGateway(
  config,
  createLogger({ level: process.env['BENCH_LOG_LEVEL'] === 'error' ? 'error' : 'fatal', destination: process.stderr }),
);
const address = running.gateway.server.address() as { port: number };
const base = `http://127.0.0.1:${address.port}`;
const gql = async (url: string, query: string): Promise<{ data?: unknown; errors?: { extensions?: { code?: string } }[] }> =>
  (await (
    await fetch(`${base}${url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    })
  ).json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
const ready = async () => (await fetch(`${base}/readyz`)).status === 200;

await gql('/api/v1/graphql', 'mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }');

// Load: `rate` mutations a second, each a new namespace; the ids answered OK are remembered.
const answered = new Set<string>();
let sent = 0;
let loading = true;
const load = (async () => {
  const inFlight = new Set<Promise<void>>();
  while (loading) {
    const id = `ns${sent++}`;
    const p = gql('/api/v1/acme/graphql', `mutation { createNamespace(input: {id: "${id}"}) { id } }`)
      .then((r) => {
        if (r.data && !r.errors) answered.add(id);
      })
      .catch(() => undefined)
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    await new Promise((r) => setTimeout(r, 1000 / rate));
  }
  await Promise.all(inFlight);
})();

let failures = 0;
for (let cycle = 1; cycle <= cycles; cycle++) {
  await new Promise((r) => setTimeout(r, 2000));
  const before = answered.size;
  ferret('stop', path.join(dir, 'ferret'));
  await new Promise((r) => setTimeout(r, downMs));
  const during = answered.size - before;
  ferret('start', path.join(dir, 'ferret'), String(port));
  const started = Date.now();
  // Ready again while the load goes on: every projection at the head of the log at some moment.
  while (!(await ready()) && Date.now() - started < recoverMs) await new Promise((r) => setTimeout(r, 100));
  const recovered = await ready();
  if (!recovered) failures++;
  console.log(
    `cycle ${cycle}/${cycles}: ${recovered ? `recovered in ${((Date.now() - started) / 1000).toFixed(1)} s` : `NOT RECOVERED within ${recoverMs / 1000} s: ${await (await fetch(`${base}/readyz`)).text()}`}; ${during} mutations answered OK during the outage`,
  );
}
loading = false;
await load;
// Every answered mutation visible, once.
const deadline = Date.now() + recoverMs;
while (!(await ready()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
const listed = (await gql('/api/v1/acme/graphql', '{ namespaces { id } }')) as { data?: { namespaces: { id: string }[] } };
const ids = listed.data?.namespaces.map((n) => n.id) ?? [];
const missing = [...answered].filter((id) => !ids.includes(id));
const duplicates = ids.length - new Set(ids).size;
const metrics = await (await fetch(`${base}/metrics`)).text();
const refused = /^tenantry_readmodel_reads_refused_total (\d+)/m.exec(metrics)?.[1] ?? '?';
console.log(
  `${cycles - failures}/${cycles} recoveries (max in flight ${config.mongoMaxInFlight}; ${refused} request reads refused as overloaded);`,
);
console.log(
  `${cycles - failures}/${cycles} recoveries; ${answered.size} of ${sent} mutations answered OK; ${missing.length} of them missing from the read models, ${duplicates} duplicated`,
);
await running.stop();
ferret('stop', path.join(dir, 'ferret'));
rmSync(dir, { recursive: true, force: true });
process.exit(failures === 0 && missing.length === 0 && duplicates === 0 ? 0 : 1);
